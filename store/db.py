"""Engines for SQLite (embedded default) and PostgreSQL, and sessions."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from store import models  # noqa: F401  (registers the tables)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; a SQLite file gets WAL and a busy timeout, its folder is created."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


_WRITER_LOCKS: dict[int, threading.Lock] = {}


def writer_lock(engine: Engine) -> AbstractContextManager[object]:
    """SQLite has one writer at a time; taking turns in-process beats its busy-wait back-off
    (which sleeps up to 100 ms). PostgreSQL needs no such lock."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    return _WRITER_LOCKS.setdefault(id(engine), threading.Lock())


def session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)
