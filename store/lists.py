"""The lists, a page at a time (store/paging.py): projects, the inbox's open tasks, a trail's events.

Each is one query that seeks to its cursor through an index; none reads more than a page.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Engine

from store.audit import EventFilter, event_record, filtered_events
from store.models import AuditEvent
from store.paging import Order, Page, fetch_page
from store.read import PP, P, T, project_summary

EV = AuditEvent.__table__  # type: ignore[attr-defined]

BY_START = Order((P.c.started_at, P.c.id), (str, str))
LATEST_CHANGED = Order((P.c.updated_at, P.c.id), (str, str), frozenset({0, 1}))
BY_DUE = Order((T.c.due_at, T.c.project_id, T.c.id), (str, str, str))
BY_SEQ = Order((EV.c.seq,), (int,))
NEWEST_FIRST = Order((EV.c.seq,), (int,), frozenset({0}))


def projects_page(engine: Engine, *, org: str | None, cursor: str | None, limit: int,
                  latest_changed: bool = False) -> Page[dict[str, Any]]:
    """The projects ``org`` leads or is a partner in (None: all), the earliest started first, or with
    ``latest_changed`` the latest changed first."""
    query = select(P)
    if org is not None:
        query = query.where(or_(P.c.lead == org, P.c.id.in_(select(PP.c.project_id).where(PP.c.org_id == org))))
    order = LATEST_CHANGED if latest_changed else BY_START
    with engine.connect() as conn:
        page = fetch_page(conn, query, order, lambda r: [r._mapping[c.name] for c in order.columns], cursor, limit)
    return Page([project_summary(r._mapping) for r in page.items], page.next, page.previous)


def open_tasks_page(engine: Engine, *, org: str, auditor: bool, cursor: str | None, limit: int,
                    held_by: list[str] | None = None, unheld: bool = False
                    ) -> Page[tuple[dict[str, Any], dict[str, Any]]]:
    """Open tasks owed by ``org`` across projects (and the steps any partner of its projects may take; an
    auditor: auditor tasks), the earliest due first, each with its project's summary: one query, a join.
    ``held_by``: only those these people hold; ``unheld``: only those nobody holds."""
    query = select(T.c.view, P).join(P, P.c.id == T.c.project_id).where(T.c.status == "open")
    if held_by is not None:
        query = query.where(T.c.holder.in_(held_by))
    if unheld:
        query = query.where(T.c.holder.is_(None))
    if auditor:
        query = query.where(T.c.assignee == "auditor")
    else:
        member = and_(T.c.assignee == "any_partner", select(PP.c.org_id).where(
            PP.c.project_id == T.c.project_id, PP.c.org_id == org).exists())
        query = query.where(or_(T.c.assignee == org, member))
    query = query.add_columns(T.c.due_at.label("task_due"), T.c.project_id.label("task_project"),
                              T.c.id.label("task_id"))
    with engine.connect() as conn:
        page = fetch_page(conn, query, BY_DUE, lambda r: [r.task_due, r.task_project, r.task_id], cursor, limit)
    return Page([(json.loads(r.view), project_summary(r._mapping)) for r in page.items], page.next, page.previous)


def events_page(engine: Engine, project_id: str, where: EventFilter | None, *, cursor: str | None, limit: int,
                newest_first: bool = False) -> Page[dict[str, Any]]:
    """The project's events that ``where`` lets through, in seq order (or the newest first)."""
    order = NEWEST_FIRST if newest_first else BY_SEQ
    with engine.connect() as conn:
        page = fetch_page(conn, filtered_events(project_id, where), order, lambda r: [r.seq], cursor, limit)
    return Page([event_record(r) for r in page.items], page.next, page.previous)


def task_assignees(engine: Engine, project_id: str, task_ids: Iterable[str]) -> dict[str, str]:
    """Whom each of these tasks of the project is (or was last) assigned to."""
    wanted = sorted(set(task_ids))
    if not wanted:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(select(T.c.id, T.c.assignee).where(T.c.project_id == project_id, T.c.id.in_(wanted)))
        return {r.id: r.assignee for r in rows}
