"""Tampering as a malicious database administrator would: with the append-only triggers off."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

SQLITE_TRIGGERS = ("audit_event_no_update", "audit_event_no_delete")


@contextmanager
def triggers_off(engine: Engine) -> Iterator[Connection]:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            yield conn
            return
        saved = [conn.execute(text("SELECT sql FROM sqlite_master WHERE type='trigger' AND name=:n"),
                              {"n": name}).scalar_one() for name in SQLITE_TRIGGERS]
        for name in SQLITE_TRIGGERS:
            conn.execute(text(f"DROP TRIGGER {name}"))
        yield conn
        for sql in saved:
            conn.execute(text(sql))


def tamper(engine: Engine, statement: str, **params: Any) -> None:
    with triggers_off(engine) as conn:
        conn.execute(text(statement), params)
