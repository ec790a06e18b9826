"""The outbox: mails written with the events that cause them, sent by the worker's sender.

A sender claims due mails for a while (a lease), so that several workers never send the same one
at once; a mail that cannot be sent is tried again later, less and less often, and after
``MAX_ATTEMPTS`` it is ``failed`` (and shown by `coopflow mail list`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, bindparam, delete, func, select, update
from sqlalchemy.engine import Connection, Engine

from store.db import writer_lock
from store.models import Organisation, OutboxMail, User

MAIL, U, G = OutboxMail.__table__, User.__table__, Organisation.__table__  # type: ignore[attr-defined]
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Person:
    id: str
    email: str
    lang: str
    role: str
    org: str
    mail: str = "immediate"  # or "daily": new tasks come in the day's digest instead (activities/digests.py)


_PERSON = (U.c.id, U.c.email, U.c.lang, U.c.role, U.c.org_id, U.c.mail)
_ORGS: BindParameter[str] = bindparam("orgs", expanding=True)
# built once: a write that opens tasks asks these, and building a statement costs more than running it
_ACTIVE = U.c.status == "active"  # disabled and removed users get no mail
_PEOPLE = select(*_PERSON).where(U.c.org_id.in_(_ORGS), _ACTIVE).order_by(U.c.email)
_PEOPLE_AND_AUDITORS = select(*_PERSON).where(U.c.org_id.in_(_ORGS) | (U.c.role == "auditor"), _ACTIVE).order_by(
    U.c.email)
_NAMES = select(G.c.id, G.c.name).where(G.c.id.in_(_ORGS))


def people_of(conn: Connection, orgs: set[str]) -> dict[str, list[Person]]:
    """The active users of each organisation (and, under "auditor", every active auditor); read with the
    connection of the write that adds their mails."""
    query = _PEOPLE_AND_AUDITORS if "auditor" in orgs else _PEOPLE
    found: dict[str, list[Person]] = {org: [] for org in orgs}
    for row in conn.execute(query, {"orgs": sorted(orgs - {"auditor"})}):
        person = Person(row.id, row.email, row.lang, row.role, row.org_id, row.mail)
        if row.org_id in found:
            found[row.org_id].append(person)
        if row.role == "auditor" and "auditor" in found:
            found["auditor"].append(person)
    return found


def org_names(conn: Connection, orgs: set[str]) -> dict[str, str]:
    return {row.id: row.name for row in conn.execute(_NAMES, {"orgs": sorted(orgs)})}


def claim_next(engine: Engine, *, now: float, lease: float) -> dict[str, Any] | None:
    """The pending mail due first by ``now`` that no other sender holds; it is this sender's for ``lease`` s.

    One mail at a time: a lease then covers one mail's sending, never a whole round of them, so that a
    slow server cannot let a lease run out on mails still waiting their turn (another sender would take
    them and send them too)."""
    with writer_lock(engine), engine.begin() as conn:
        for row in conn.execute(select(MAIL).where(MAIL.c.status == "pending", MAIL.c.next_attempt_at <= now,
                                                   MAIL.c.lease_until <= now).order_by(MAIL.c.next_attempt_at)
                                .limit(5)).mappings().all():
            taken = conn.execute(update(MAIL).where(MAIL.c.message_id == row["message_id"], MAIL.c.lease_until <= now)
                                 .values(lease_until=now + lease))
            if taken.rowcount:  # a lease taken only if no one took it meanwhile
                return dict(row)
    return None


def mark_sent(engine: Engine, message_id: str, *, at: str) -> None:
    with writer_lock(engine), engine.begin() as conn:
        conn.execute(update(MAIL).where(MAIL.c.message_id == message_id).values(
            status="sent", sent_at=at, attempts=MAIL.c.attempts + 1, lease_until=0, last_error=None))


def mark_failed(engine: Engine, message_id: str, *, error: str, attempts: int, retry_at: float,
                final: bool = False) -> None:
    """One more failed attempt: tried again at ``retry_at``, or ``failed`` after ``MAX_ATTEMPTS`` (at once if
    ``final``: a mail that never can be sent)."""
    with writer_lock(engine), engine.begin() as conn:
        conn.execute(update(MAIL).where(MAIL.c.message_id == message_id).values(
            status="failed" if final or attempts >= MAX_ATTEMPTS else "pending", attempts=attempts,
            next_attempt_at=retry_at, lease_until=0, last_error=error[:2000]))


def list_mail(engine: Engine, *, status: str | None = None, project_id: str | None = None,
              limit: int = 1000) -> list[dict[str, Any]]:
    """The newest ``limit`` mails, newest first."""
    query = select(MAIL).order_by(MAIL.c.created_at.desc(), MAIL.c.message_id.desc()).limit(limit)
    if status is not None:
        query = query.where(MAIL.c.status == status)
    if project_id is not None:
        query = query.where(MAIL.c.project_id == project_id)
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def prune_sent(engine: Engine, *, sent_before: str, dry_run: bool = False) -> int:
    """Remove the mails sent before ``sent_before`` (ISO 8601, as ``sent_at``); returns how many (would) go.
    Pending and failed mails stay, whatever their age."""
    old = (MAIL.c.status == "sent") & (MAIL.c.sent_at < sent_before)
    if dry_run:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(MAIL).where(old)).scalar_one())
    with writer_lock(engine), engine.begin() as conn:
        return int(conn.execute(delete(MAIL).where(old)).rowcount or 0)
