"""Keyset paging: the rows after (or before) a cursor on a stable sort key, never OFFSET.

A cursor is opaque to its reader and URL-safe: the sort key of the row it follows (or precedes, for the
page before), as base64url JSON. A page costs the same however deep it is: the database seeks to the key
through an index and reads ``limit + 1`` rows.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import and_, or_
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql import ColumnElement, Select

from domain import InvalidRequest

T = TypeVar("T")
DEFAULT_LIMIT = 100  # items of a list the API answers with when no ?limit= is given
MAX_LIMIT = 500
MAX_CURSOR_CHARS = 1000


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; ``next`` and ``previous`` are cursors (None: there is no such page)."""

    items: list[T]
    next: str | None = None
    previous: str | None = None


@dataclass(frozen=True)
class Order:
    """A sort key: its columns, each ascending unless named in ``descending``, and their value types."""

    columns: Sequence[ColumnElement[Any]]
    types: Sequence[type]
    descending: frozenset[int] = field(default_factory=frozenset)


def encode_cursor(key: Sequence[Any], *, before: bool = False) -> str:
    raw = json.dumps(["b" if before else "a", *key], separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(text: str, types: Sequence[type]) -> tuple[list[Any], bool]:
    """The key a cursor names and whether it asks for the page before it; a cursor this list did not give
    out is refused (422 naming ``cursor``)."""
    try:
        if len(text) > MAX_CURSOR_CHARS:
            raise ValueError
        raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode())
        if not isinstance(raw, list) or raw[:1] not in (["a"], ["b"]) or len(raw) != len(types) + 1:
            raise ValueError
        key = raw[1:]
        if any(type(v) is not kind for v, kind in zip(key, types, strict=True)):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequest("The cursor is not one this list gave out: start again from the first page.",
                             {"cursor": "invalid"}) from None
    return key, raw[0] == "b"


def check_limit(limit: int, *, most: int = MAX_LIMIT) -> int:
    if not 1 <= limit <= most:
        raise InvalidRequest(f"The limit must be between 1 and {most}.", {"limit": f"between 1 and {most}"})
    return limit


def _beyond(order: Order, key: list[Any], before: bool) -> ColumnElement[bool]:
    """Rows after ``key`` in the order (before it, with ``before``)."""
    alternatives = []
    for i, column in enumerate(order.columns):
        later = (i in order.descending) == before
        alternatives.append(and_(*(c == v for c, v in zip(order.columns[:i], key, strict=False)),
                                 column > key[i] if later else column < key[i]))
    return or_(*alternatives)


def _sorted(order: Order, before: bool) -> list[ColumnElement[Any]]:
    return [c.desc() if (i in order.descending) != before else c.asc() for i, c in enumerate(order.columns)]


def fetch_page(conn: Connection, query: Select[Any], order: Order, key_of: Callable[[Row[Any]], list[Any]],
               cursor: str | None, limit: int) -> Page[Row[Any]]:
    """The page of ``query``'s rows that ``cursor`` points to (the first without one), ``limit`` at most."""
    key, before = decode_cursor(cursor, order.types) if cursor else (None, False)
    narrowed = query if key is None else query.where(_beyond(order, key, before))
    rows = list(conn.execute(narrowed.order_by(*_sorted(order, before)).limit(limit + 1)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    if before:
        if not rows:  # nothing before it any more: the first page
            return fetch_page(conn, query, order, key_of, None, limit)
        rows.reverse()
        return Page(rows, next=encode_cursor(key_of(rows[-1])),
                    previous=encode_cursor(key_of(rows[0]), before=True) if more else None)
    return Page(rows, next=encode_cursor(key_of(rows[-1])) if more else None,
                previous=encode_cursor(key_of(rows[0]), before=True) if key is not None and rows else None)
