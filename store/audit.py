"""The audit store: append sealed events once each, in seq order, with their read models."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from domain import Event, canonical_json
from store.db import session
from store.models import AuditEvent, Project, ProjectPartner, Task


class ChainConflict(Exception):
    """The store already holds a different event at a seq: never overwrite the record."""


def record_batch(engine: Engine, *, project: dict[str, Any], events: list[Event],
                 tasks: list[dict[str, Any]]) -> int:
    """Write ``events`` not stored yet and upsert the read models, in one transaction.

    Idempotent: a retry of the same batch writes nothing twice. Returns how many events were new.
    """
    with session(engine) as s:
        stored = {row.seq: row.hash for row in s.exec(select(AuditEvent).where(
            AuditEvent.project_id == project["id"], col(AuditEvent.seq).in_([e.seq for e in events])))}
        new = 0
        for e in events:
            if e.seq in stored:
                if stored[e.seq] != e.hash:
                    raise ChainConflict(f"project {project['id']}: seq {e.seq} is stored with another hash")
                continue
            s.add(_event_row(project["id"], e))
            new += 1
        _upsert_project(s, project)
        _upsert_tasks(s, project["id"], tasks)
        s.commit()
    return new


def _event_row(project_id: str, e: Event) -> AuditEvent:
    return AuditEvent(
        project_id=project_id, seq=e.seq, type=e.type, at=e.at,
        actor_user=e.actor.user if e.actor else None, actor_org=e.actor.org if e.actor else None,
        actor_role=e.actor.role if e.actor else None, phase=e.phase, step=e.step, task_id=e.task_id,
        data=canonical_json(e.data), prev_hash=e.prev_hash, hash=e.hash)


def _upsert_project(s: Session, p: dict[str, Any]) -> None:
    row = s.get(Project, p["id"])
    fields = {k: p[k] for k in ("title", "status", "phase", "seq", "head", "started_at", "updated_at")}
    if row is None:
        s.add(Project(id=p["id"], template_id=p["template"]["id"], template_version=p["template"]["version"],
                      lead=p["lead"], **fields))
        s.add_all(ProjectPartner(project_id=p["id"], org_id=org, position=i) for i, org in enumerate(p["partners"]))
        s.flush()
    elif row.seq <= p["seq"]:
        for k, v in fields.items():
            setattr(row, k, v)
        s.add(row)


def _upsert_tasks(s: Session, project_id: str, tasks: list[dict[str, Any]]) -> None:
    if not tasks:
        return
    existing = {row.id: row for row in s.exec(select(Task).where(
        Task.project_id == project_id, col(Task.id).in_([t["id"] for t in tasks])))}
    for t in tasks:
        row = existing.get(t["id"]) or Task(project_id=project_id, id=t["id"], step=t["step"],
                                            assignee=t["assignee"], status="", due_at="", view="")
        view = {k: v for k, v in t.items() if k != "request_id"}
        row.status, row.due_at, row.view = t["status"], t["due_at"], json.dumps(view, ensure_ascii=False)
        row.request_id = t.get("request_id")
        s.add(row)


def event_record(row: AuditEvent) -> dict[str, Any]:
    """An event exactly as the API, the CLI and the exports show it (and as it was hashed)."""
    actor = ({"user": row.actor_user, "org": row.actor_org, "role": row.actor_role}
             if row.actor_user is not None else None)
    return {"seq": row.seq, "type": row.type, "at": row.at, "actor": actor, "phase": row.phase,
            "step": row.step, "task_id": row.task_id, "data": json.loads(row.data),
            "prev_hash": row.prev_hash, "hash": row.hash}


def iter_events(engine: Engine, project_id: str, *, until: str | None = None,
                batch: int = 1000) -> Iterator[dict[str, Any]]:
    """The project's events in seq order, read in batches so that long trails stream."""
    last = 0
    while True:
        with session(engine) as s:
            query = select(AuditEvent).where(AuditEvent.project_id == project_id, AuditEvent.seq > last)
            if until is not None:
                query = query.where(AuditEvent.at <= until)
            rows = list(s.exec(query.order_by(col(AuditEvent.seq)).limit(batch)))
        for row in rows:
            yield event_record(row)
        if len(rows) < batch:
            return
        last = rows[-1].seq
