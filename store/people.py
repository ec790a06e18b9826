"""People inside an organisation: whose names the tasks' holders have, the open tasks a person holds, and
who substitutes for whom between which days (the ``substitute`` table)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import BindParameter, bindparam, delete, or_, select
from sqlalchemy.engine import Connection, Engine

from store.db import writer_lock
from store.models import Substitute, Task, User

U, T, S = User.__table__, Task.__table__, Substitute.__table__  # type: ignore[attr-defined]
_IDS: BindParameter[str] = bindparam("ids", expanding=True)
_NAMES = select(U.c.id, U.c.name, U.c.email).where(U.c.id.in_(_IDS))
_HELD_OPEN = select(T.c.project_id, T.c.id).where(T.c.holder == bindparam("user_id"), T.c.status == "open")
_SUBSTITUTES = select(S).where(S.c.user_id.in_(_IDS))


def display_name(name: str, email: str) -> str:
    """A person as pages and answers name them: their name, or, without one, their e-mail's local part."""
    return name.strip() or email.split("@")[0]


def names_of(engine: Engine, user_ids: Iterable[str]) -> dict[str, str]:
    """Each user's name (``display_name``) by id; ids of no user are left out."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    with engine.connect() as conn:
        return {row.id: display_name(row.name, row.email) for row in conn.execute(_NAMES, {"ids": ids})}


def held_open_tasks(engine: Engine, user_id: str) -> list[tuple[str, str]]:
    """(project id, task id) of every open task the user holds."""
    with engine.connect() as conn:
        return [(row.project_id, row.id) for row in conn.execute(_HELD_OPEN, {"user_id": user_id})]


def colleagues(engine: Engine, org_id: str) -> list[dict[str, str]]:
    """The active people of an organisation, by name: whom a task may be handed to, who may substitute."""
    query = select(U.c.id, U.c.name, U.c.email, U.c.role).where(U.c.org_id == org_id, U.c.status == "active")
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    people = [{"user_id": r.id, "name": display_name(r.name, r.email), "email": r.email, "role": r.role}
              for r in rows]
    return sorted(people, key=lambda p: (p["name"].lower(), p["email"]))


def set_substitute(engine: Engine, *, user_id: str, substitute_id: str, starts_on: str, ends_on: str,
                   at: str) -> None:
    """The person's substitute (one at a time: a new one replaces the one before)."""
    with writer_lock(engine), engine.begin() as conn:
        conn.execute(delete(S).where(S.c.user_id == user_id))
        conn.execute(S.insert(), {"user_id": user_id, "substitute_id": substitute_id, "starts_on": starts_on,
                                  "ends_on": ends_on, "created_at": at})


def end_substitutes(engine: Engine, user_id: str, *, also_as_substitute: bool = False) -> int:
    """The person's substitute ends (and, ``also_as_substitute``, their standing in for others); how many."""
    where = or_(S.c.user_id == user_id, S.c.substitute_id == user_id) if also_as_substitute else S.c.user_id == user_id
    with writer_lock(engine), engine.begin() as conn:
        return int(conn.execute(delete(S).where(where)).rowcount or 0)


def substitute_of(engine: Engine, user_id: str) -> dict[str, Any] | None:
    """The person's substitute as named (whether the days have come or not), or None."""
    with engine.connect() as conn:
        row = conn.execute(select(S).where(S.c.user_id == user_id)).mappings().first()
    return dict(row) if row else None


def standing_in_for(engine: Engine, substitute_id: str, day: str) -> list[str]:
    """The people whose substitute ``substitute_id`` is on ``day`` (YYYY-MM-DD)."""
    query = select(S.c.user_id).where(S.c.substitute_id == substitute_id, S.c.starts_on <= day, S.c.ends_on >= day)
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def substitutes_of(conn: Connection, user_ids: Iterable[str]) -> dict[str, tuple[str, str, str]]:
    """For each of ``user_ids`` with a substitute named: (the substitute's id, first day, last day), read with
    the connection of the write whose mails it decides."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    return {row.user_id: (row.substitute_id, row.starts_on, row.ends_on)
            for row in conn.execute(_SUBSTITUTES, {"ids": ids})}


def names_in(conn: Connection, user_ids: Iterable[str]) -> dict[str, str]:
    """``names_of`` with the connection of a write."""
    ids = sorted(set(user_ids))
    return {row.id: display_name(row.name, row.email) for row in conn.execute(_NAMES, {"ids": ids})} if ids else {}
