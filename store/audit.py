"""The audit store: append sealed events once each, in seq order, with their read models."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col, select

from domain import Event, canonical_json
from store.db import writer_lock
from store.models import AuditEvent, Incident, OutboxMail, Project, ProjectPartner, Task


class ChainConflict(Exception):
    """The store already holds a different event at a seq: never overwrite the record."""


def record_batch(engine: Engine, *, project: dict[str, Any], events: list[Event],
                 tasks: list[dict[str, Any]], resolves_incident: bool = False,
                 mails: Callable[[Connection], Sequence[dict[str, Any]]] | None = None) -> int:
    """Write ``events`` not stored yet, upsert the read models and add the mails they cause to the
    outbox (``mails(conn)``: they are composed with this transaction's connection), in one transaction.

    Idempotent: a retry of the same batch writes nothing twice; a different event already
    stored at one of these seqs raises ``ChainConflict`` and writes nothing. Returns how many
    events were new. This runs once per completed task: its statements are built once and
    run with parameter lists.
    """
    sql = _statements(engine.dialect.name)
    pid = project["id"]
    with writer_lock(engine), engine.begin() as conn:
        if events and events[0].seq == 1 and conn.execute(sql.project_insert, {
                "id": pid, "template_id": project["template"]["id"], "lead": project["lead"],
                "template_version": project["template"]["version"], "partners": json.dumps(project["partners"]),
                **_project_fields(project)}).first() is not None:  # new here: not a late retry
            conn.execute(sql.partner_insert, [{"project_id": pid, "org_id": org, "position": i}
                                              for i, org in enumerate(project["partners"])])
        new = len(conn.execute(sql.event_insert, [_event_row(pid, e) for e in events]).all()) if events else 0
        if new != len(events):
            _check_same(conn, pid, events)
        # An attempt that timed out may commit after a later batch (it kept running while Temporal retried):
        # every read-model row is written only if it is not newer than this batch (seq guards).
        latest = conn.execute(sql.project_update, {
            "pid": pid, **{f"new_{k}": v for k, v in _project_fields(project).items()}}).rowcount
        if latest and any(e.type in ("PartnerAdded", "PartnerWithdrawn") for e in events):
            _sync_partners(conn, pid, project["partners"])
        if tasks:
            conn.execute(sql.task_upsert, [_task_row(pid, t, project["seq"]) for t in tasks])
        composed = list(mails(conn)) if mails is not None else []
        if composed:
            conn.execute(sql.mail_insert, composed)
        if resolves_incident:
            conn.execute(delete(Incident).where(col(Incident.project_id) == pid))
    return new


def record_incident(engine: Engine, *, project_id: str, seq: int, since: str, reason: str) -> None:
    """Note (or count again) that the store refused this project's events from ``seq`` on."""
    with writer_lock(engine), engine.begin() as conn:
        updated = conn.execute(update(Incident).where(col(Incident.project_id) == project_id).values(
            seq=seq, reason=reason, attempts=Incident.attempts + 1))
        if updated.rowcount == 0:
            conn.execute(Incident.__table__.insert(), {  # type: ignore[attr-defined]
                "project_id": project_id, "seq": seq, "since": since, "reason": reason, "attempts": 1})


def incidents(engine: Engine, project_id: str | None = None) -> list[dict[str, Any]]:
    """Open incidents (of one project, or all), oldest first."""
    query = select(Incident).order_by(col(Incident.since))
    if project_id is not None:
        query = query.where(col(Incident.project_id) == project_id)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query.with_only_columns(*Incident.__table__.c))]  # type: ignore[attr-defined]


def _sync_partners(conn: Connection, project_id: str, partners: list[str]) -> None:
    """Who is in the project now (a partner joined or withdrew): the list and the membership rows."""
    projects, members = Project.__table__, ProjectPartner.__table__  # type: ignore[attr-defined]
    conn.execute(update(projects).where(projects.c.id == project_id).values(partners=json.dumps(partners)))
    conn.execute(delete(members).where(members.c.project_id == project_id))
    conn.execute(members.insert(), [{"project_id": project_id, "org_id": org, "position": i}
                                    for i, org in enumerate(partners)])


@dataclass(frozen=True)
class _Statements:
    project_insert: Any
    partner_insert: Any
    event_insert: Any
    project_update: Any
    task_upsert: Any
    mail_insert: Any


_PROJECT_FIELDS = ("title", "status", "phase", "seq", "head", "started_at", "updated_at", "personal_data")


@functools.cache
def _statements(dialect: str) -> _Statements:
    insert: Any = postgresql_insert if dialect == "postgresql" else sqlite_insert
    events, projects = AuditEvent.__table__, Project.__table__  # type: ignore[attr-defined]
    task_upsert = insert(Task.__table__)  # type: ignore[attr-defined]
    return _Statements(
        project_insert=insert(projects).on_conflict_do_nothing().returning(projects.c.id),
        partner_insert=insert(ProjectPartner.__table__).on_conflict_do_nothing(),  # type: ignore[attr-defined]
        event_insert=insert(events).on_conflict_do_nothing().returning(events.c.seq),
        project_update=update(projects)
        .where(projects.c.id == bindparam("pid"), projects.c.seq <= bindparam("new_seq"))
        .values({k: bindparam(f"new_{k}") for k in _PROJECT_FIELDS}),
        task_upsert=task_upsert.on_conflict_do_update(
            index_elements=["project_id", "id"],
            set_={k: task_upsert.excluded[k] for k in ("status", "due_at", "view", "request_id", "assignee", "seq",
                                                       "holder")},
            where=Task.__table__.c.seq <= task_upsert.excluded.seq),  # type: ignore[attr-defined]
        mail_insert=insert(OutboxMail.__table__).on_conflict_do_nothing(),  # type: ignore[attr-defined]
    )


def _check_same(conn: Connection, project_id: str, events: list[Event]) -> None:
    """On a retry the events are there already: they must be the very same (same hash)."""
    stored = dict(conn.execute(select(col(AuditEvent.seq), col(AuditEvent.hash)).where(
        col(AuditEvent.project_id) == project_id, col(AuditEvent.seq).in_([e.seq for e in events]))).all())
    for e in events:
        if stored.get(e.seq) != e.hash:
            raise ChainConflict(f"project {project_id}: seq {e.seq} is stored with another hash")


def _project_fields(p: dict[str, Any]) -> dict[str, Any]:
    fields = {k: p.get(k) for k in _PROJECT_FIELDS}
    # JSON; a project without personal data (or a workflow of before sealing) has none
    fields["personal_data"] = json.dumps(p["personal_data"]) if p.get("personal_data") is not None else None
    return fields


def _event_row(project_id: str, e: Event) -> dict[str, Any]:
    return {"project_id": project_id, "seq": e.seq, "type": e.type, "at": e.at,
            "actor_user": e.actor.user if e.actor else None, "actor_org": e.actor.org if e.actor else None,
            "actor_role": e.actor.role if e.actor else None, "phase": e.phase, "step": e.step,
            "task_id": e.task_id, "data": canonical_json(e.data), "prev_hash": e.prev_hash, "hash": e.hash}


def _task_row(project_id: str, t: dict[str, Any], seq: int) -> dict[str, Any]:
    view = {k: v for k, v in t.items() if k != "request_id"}
    return {"project_id": project_id, "id": t["id"], "step": t["step"], "assignee": t["assignee"],
            "status": t["status"], "due_at": t["due_at"], "request_id": t.get("request_id"),
            "view": json.dumps(view, ensure_ascii=False), "seq": seq,
            "holder": (t.get("holder") or {}).get("user_id")}


def event_record(row: Any) -> dict[str, Any]:
    """An event exactly as the API, the CLI and the exports show it (and as it was hashed)."""
    actor = ({"user": row.actor_user, "org": row.actor_org, "role": row.actor_role}
             if row.actor_user is not None else None)
    return {"seq": row.seq, "type": row.type, "at": row.at, "actor": actor, "phase": row.phase,
            "step": row.step, "task_id": row.task_id, "data": json.loads(row.data),
            "prev_hash": row.prev_hash, "hash": row.hash}


@dataclass(frozen=True)
class EventFilter:
    """What an auditor narrows a trail to; every field is optional. Times are ISO 8601 strings."""

    actor_user: str | None = None
    org: str | None = None
    type: str | None = None
    since: str | None = None
    until: str | None = None


def filtered_events(project_id: str, where: EventFilter | None = None) -> Any:
    """The query of the project's events that ``where`` lets through (unordered)."""
    ev = AuditEvent.__table__  # type: ignore[attr-defined]
    query = select(ev).where(ev.c.project_id == project_id)
    where = where or EventFilter()
    for column, value in ((ev.c.actor_user, where.actor_user), (ev.c.actor_org, where.org), (ev.c.type, where.type)):
        if value is not None:
            query = query.where(column == value)
    if where.since is not None:
        query = query.where(ev.c.at >= where.since)
    if where.until is not None:
        query = query.where(ev.c.at <= where.until)
    return query


def iter_events(engine: Engine, project_id: str, where: EventFilter | None = None, *,
                batch: int = 1000) -> Iterator[dict[str, Any]]:
    """The project's events in seq order, read in batches so that long trails stream."""
    ev = AuditEvent.__table__  # type: ignore[attr-defined]
    query = filtered_events(project_id, where)
    last = 0
    while True:
        with engine.connect() as conn:
            rows = conn.execute(query.where(ev.c.seq > last).order_by(ev.c.seq).limit(batch)).all()
        for row in rows:
            yield event_record(row)
        if len(rows) < batch:
            return
        last = rows[-1].seq
