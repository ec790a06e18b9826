"""Append-only tables, for the migrations that create them: the database itself refuses UPDATE,
DELETE (and on PostgreSQL TRUNCATE) on ``table``, whatever code or person tries with the app's
credentials. The app's role owns no table (``coopflow db upgrade --app-role``, ``store/roles.py``), so it
can neither drop nor disable these triggers; the tables' owner (the migrations' role) and a superuser can,
and the signed checkpoints show what they rewrite.

The statements are part of applied migrations: change them only by a new migration.
"""

from __future__ import annotations

from alembic import op


def make_append_only(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '{table} is append-only: % is not allowed', TG_OP;
END $$;
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
  FOR EACH ROW EXECUTE FUNCTION {table}_append_only();
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
  FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only();
""")
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(f"""CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table}
       BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} is not allowed'); END""")


def drop_append_only(table: str) -> None:
    """Before the table is dropped (SQLite's triggers go with their table)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
