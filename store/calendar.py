"""Calendar feeds: a secret URL per person. The secret is 256 random bits; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine

from store.db import writer_lock
from store.models import CalendarFeed

FEED = CalendarFeed.__table__  # type: ignore[attr-defined]
SECRET = re.compile(r"[A-Za-z0-9_-]{43}")  # what ``token_urlsafe(32)`` makes


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_feed(engine: Engine, user_id: str, *, now: str) -> str:
    """A new secret for the person's feed, replacing (revoking) the one before; shown once, never stored."""
    secret = secrets.token_urlsafe(32)
    with writer_lock(engine), engine.begin() as conn:
        conn.execute(delete(FEED).where(FEED.c.user_id == user_id))
        conn.execute(insert(FEED).values(user_id=user_id, secret_hash=_hash(secret), created_at=now))
    return secret


def revoke_feed(engine: Engine, user_id: str) -> bool:
    """The person's feed answers 404 from now on; whether there was one."""
    with writer_lock(engine), engine.begin() as conn:
        return bool(conn.execute(delete(FEED).where(FEED.c.user_id == user_id)).rowcount)


def feed_created(engine: Engine, user_id: str) -> str | None:
    """When the person's current feed was made, or None when they have none."""
    with engine.connect() as conn:
        found: str | None = conn.execute(select(FEED.c.created_at).where(FEED.c.user_id == user_id)).scalar()
    return found


def feed_owner(engine: Engine, secret: str) -> str | None:
    """The user id whose feed has this secret, or None (unknown, revoked, or not even a secret's shape)."""
    if not SECRET.fullmatch(secret):
        return None
    with engine.connect() as conn:
        found: str | None = conn.execute(
            select(FEED.c.user_id).where(FEED.c.secret_hash == _hash(secret))).scalar()
    return found
