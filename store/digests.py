"""Daily digests: who gets one, which days are done, and a digest written with its mail.

A row per person and local date (the primary key) is written in the same transaction as the digest's outbox
mail, so a person gets at most one a day whatever retries, restarts or second workers happen; a day with
nothing to say gets the row alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from store.db import writer_lock
from store.models import Digest, OutboxMail, User

DIGEST, U, MAIL = Digest.__table__, User.__table__, OutboxMail.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Reader:
    """A person who chose a daily digest."""

    id: str
    email: str
    lang: str
    timezone: str
    org: str
    role: str


def daily_readers(engine: Engine) -> list[Reader]:
    """Every active user who chose the daily digest (disabled and removed users get no mail)."""
    query = (select(U.c.id, U.c.email, U.c.lang, U.c.timezone, U.c.org_id, U.c.role)
             .where(U.c.mail == "daily", U.c.status == "active").order_by(U.c.id))
    with engine.connect() as conn:
        return [Reader(r.id, r.email, r.lang, r.timezone, r.org_id, r.role) for r in conn.execute(query)]


def done_days(engine: Engine, user_ids: list[str], local_dates: set[str]) -> set[tuple[str, str]]:
    """Which of those people have their digest of which of those dates already."""
    if not user_ids:
        return set()
    query = select(DIGEST.c.user_id, DIGEST.c.local_date).where(DIGEST.c.user_id.in_(user_ids),
                                                                DIGEST.c.local_date.in_(sorted(local_dates)))
    with engine.connect() as conn:
        return {(r.user_id, r.local_date) for r in conn.execute(query)}


def last_digest_at(engine: Engine, user_id: str) -> str | None:
    """When the person's latest digest was made (with or without a mail)."""
    with engine.connect() as conn:
        found: str | None = conn.execute(select(func.max(DIGEST.c.at)).where(DIGEST.c.user_id == user_id)).scalar()
    return found


def record_digest(engine: Engine, *, user_id: str, local_date: str, at: str, tasks: int,
                  mail: dict[str, Any] | None) -> bool:
    """The day's digest and its mail (None: nothing to say), in one transaction; False, writing nothing, when
    the person has that day's digest already."""
    try:
        with writer_lock(engine), engine.begin() as conn:
            if conn.execute(select(DIGEST.c.at).where(DIGEST.c.user_id == user_id,
                                                      DIGEST.c.local_date == local_date)).first():
                return False
            conn.execute(insert(DIGEST).values(user_id=user_id, local_date=local_date, at=at, tasks=tasks))
            if mail is not None:
                conn.execute(insert(MAIL).values(**mail))
    except IntegrityError:  # another worker wrote it in between (the primary key): that one counts
        return False
    return True


def digests_of(engine: Engine, user_id: str) -> list[dict[str, Any]]:
    """The person's digests, oldest first: local date, when, how many tasks (0: none sent)."""
    query = select(DIGEST).where(DIGEST.c.user_id == user_id).order_by(DIGEST.c.local_date)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]
