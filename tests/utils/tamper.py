"""Tampering as a malicious database administrator would: with the append-only triggers off."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine


@contextmanager
def triggers_off(engine: Engine, table: str = "audit_event") -> Iterator[Connection]:
    """A transaction in which the append-only ``table`` may be changed."""
    triggers = (f"{table}_no_update", f"{table}_no_delete")
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            yield conn
            return
        saved = [conn.execute(text("SELECT sql FROM sqlite_master WHERE type='trigger' AND name=:n"),
                              {"n": name}).scalar_one() for name in triggers]
        for name in triggers:
            conn.execute(text(f"DROP TRIGGER {name}"))
        yield conn
        for sql in saved:
            conn.execute(text(sql))


def tamper(engine: Engine, statement: str, **params: Any) -> None:
    with triggers_off(engine) as conn:
        conn.execute(text(statement), params)
