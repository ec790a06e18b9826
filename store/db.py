"""Engines for SQLite (embedded default) and PostgreSQL, and sessions."""

from __future__ import annotations

import re
import threading
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from domain import DomainError
from store import models  # noqa: F401  (registers the tables)


class StoreUnavailable(DomainError):
    code = "store_unavailable"


# PostgreSQL's SQLSTATEs of errors that pass by themselves, whatever class the driver maps them to: by class
# (connection, transaction rollback such as deadlocks, insufficient resources, operator intervention such as
# a shutdown, system errors) and singly: a read-only transaction (a demoted primary during a failover, a hot
# standby), a session the server ended while idle in a transaction, a lock not available in time.
_PASSING_CLASSES = ("08", "40", "53", "57", "58")
_PASSING_STATES = {"25006", "25P03", "55P03", "55006"}


def is_unavailable(error: BaseException) -> bool:
    """A store error that goes away by itself (the connection, the server, a failover), not one of the data.

    PostgreSQL's errors are told apart by their SQLSTATE: the driver's exception class is too coarse
    (``InternalError`` holds both a read-only standby and a broken invariant)."""
    if isinstance(error, sa.DBAPIError):
        if error.connection_invalidated:
            return True
        state = getattr(error.orig, "sqlstate", None)
        if isinstance(state, str) and len(state) == 5:
            return state[:2] in _PASSING_CLASSES or state in _PASSING_STATES
    return isinstance(error, sa.OperationalError | sa.InterfaceError | sa.DisconnectionError | sa.TimeoutError
                      | ConnectionError | TimeoutError)


_SQLITE_CONSTRAINT = re.compile(r"(CHECK|UNIQUE|NOT NULL|FOREIGN KEY) constraint failed(: [\w.,\s]+)?")


def refusal(error: BaseException) -> str:
    """What a store error was, in words that quote no data: its class and, for the database's own error,
    its SQLSTATE and the constraint, table and column it names. Never the error's message or detail,
    nor the statement's parameters: PostgreSQL's detail quotes the failing row ("Failing row contains
    …", "Key (…)=(…)"), and incident reasons are read by every member of the project."""
    parts: list[str] = []
    orig = getattr(error, "orig", None)
    if orig is not None:
        parts.append(f"{type(orig).__module__}.{type(orig).__name__}")
        if getattr(orig, "sqlstate", None):
            parts.append(f"SQLSTATE {orig.sqlstate}")
        diag = getattr(orig, "diag", None)
        for what in ("constraint", "table", "column"):
            if diag is not None and getattr(diag, f"{what}_name", None):
                parts.append(f"{what} {getattr(diag, f'{what}_name')}")
        if getattr(orig, "sqlite_errorname", None):  # SQLite's messages name a constraint's columns, never values
            parts.append(orig.sqlite_errorname)
            found = _SQLITE_CONSTRAINT.fullmatch(str(orig))
            if found:
                parts.append(found.group(0))
    return f"{type(error).__name__} ({', '.join(parts)})" if parts else type(error).__name__


def make_engine(url: str) -> Engine:
    """An engine for ``url``; a SQLite file gets WAL and a busy timeout, its folder is created. Errors
    never carry the statement's parameters (``hide_parameters``): they are form data and personal data,
    and an error's text ends up in logs and incident reasons."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        pool = {}
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # more connections than threads that may read at once (the web's 40, a worker's 16): a short
            # read on the event loop (``AppBase.read_store``) must never wait for a free connection
            pool = {"pool_size": 8, "max_overflow": 64}
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True,
                               **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # a store that is away must fail a request within seconds, not hang it: connect and
    # pool-checkout timeouts are short, and pre-ping drops connections that died meanwhile
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, pool_timeout=10,
                         connect_args={"connect_timeout": 5}, hide_parameters=True)


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
