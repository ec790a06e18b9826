"""The app's database role (PostgreSQL): what web processes and workers may do, granted by the role that
migrates and owns the schema.

A table's owner may drop or disable its triggers, so the append-only tables are append-only for whoever
does not own them. The app role therefore owns nothing and is no member of an owner: it may SELECT and
INSERT on the append-only tables (those with a ``<table>_append_only`` trigger: the trail, checkpoints,
the record of personal-data reads), SELECT, INSERT, UPDATE and DELETE on the read models, and only read
the schema's revision. Granted again after every upgrade, so a new table gets its rights and a table
made append-only loses UPDATE and DELETE.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from domain import InvalidRequest

READ_ONLY = ("alembic_version",)
FULL = "SELECT, INSERT, UPDATE, DELETE"
APPEND = "SELECT, INSERT"


def grant_app_role(engine: Engine, role: str) -> dict[str, list[str]]:
    """Give ``role`` exactly what the app needs on the schema's tables; returns the tables by what it got."""
    if engine.dialect.name != "postgresql":
        raise InvalidRequest("An app role is PostgreSQL's: the embedded SQLite store has no roles.",
                             {"app_role": "PostgreSQL only"})
    with engine.begin() as conn:
        _check_role(conn, role)
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        tables = list(conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = :s ORDER BY 1"),
                                   {"s": schema}).scalars())
        append_only = set(conn.execute(text(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :s AND t.tgname = c.relname || '_append_only'"), {"s": schema}).scalars())
        q = conn.dialect.identifier_preparer.quote
        who, where = q(role), q(schema)
        database = conn.execute(text("SELECT current_database()")).scalar_one()
        conn.execute(text(f"GRANT CONNECT ON DATABASE {q(database)} TO {who}"))
        conn.execute(text(f"GRANT USAGE ON SCHEMA {where} TO {who}"))
        conn.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA {where} FROM {who}"))
        conn.execute(text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {where} FROM {who}"))
        granted: dict[str, list[str]] = {APPEND: [], FULL: [], "SELECT": []}
        for table in tables:
            rights = "SELECT" if table in READ_ONLY else APPEND if table in append_only else FULL
            conn.execute(text(f"GRANT {rights} ON {where}.{q(table)} TO {who}"))
            granted[rights].append(table)
        conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {where} TO {who}"))  # serial ids
    return {"append_only": granted[APPEND], "read_write": granted[FULL], "read_only": granted["SELECT"]}


def _check_role(conn: Connection, role: str) -> None:
    """Refuse a role that could undo the append-only triggers: missing, superuser, owner (or member of one)."""
    found = conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
    if found is None:
        raise InvalidRequest(f"There is no database role '{role}': create it first (CREATE ROLE {role} LOGIN "
                             "PASSWORD '…'), as a superuser.", {"app_role": "no such role"})
    if found.rolsuper:
        raise InvalidRequest(f"'{role}' is a superuser, who may drop any trigger: the app needs a role of its own.",
                             {"app_role": "superuser"})
    owners = conn.execute(text(
        "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = current_schema() "
        "UNION SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = current_schema()")).scalars()
    for owner in owners:
        if owner == role:
            raise InvalidRequest(f"'{role}' owns coopflow's schema or tables, so it could drop the append-only "
                                 f"triggers: run the migrations as another role, and as a superuser `REASSIGN "
                                 f"OWNED BY {role} TO <that role>` (docs/production.md).", {"app_role": "owner"})
        if conn.execute(text("SELECT pg_has_role(:r, :o, 'MEMBER')"), {"r": role, "o": owner}).scalar_one():
            raise InvalidRequest(f"'{role}' is a member of '{owner}', which owns coopflow's schema or tables: it "
                                 f"could act as the owner. REVOKE {owner} FROM {role} first.",
                                 {"app_role": "member of the owner"})
