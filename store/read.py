"""Reads of the read models: projects and the inbox.

These run on every request, so the statements are built once and take bound parameters.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import Engine, RowMapping

from store.models import Incident, Project, ProjectPartner, Task

P = Project.__table__  # type: ignore[attr-defined]
INC = Incident.__table__  # type: ignore[attr-defined]
T = Task.__table__  # type: ignore[attr-defined]
PP = ProjectPartner.__table__  # type: ignore[attr-defined]

_PROJECT = select(P).where(P.c.id == bindparam("project_id"))
_PROJECT_AND_INCIDENT = (select(P, INC.c.seq.label("incident_seq"), INC.c.since.label("incident_since"),
                                INC.c.reason.label("incident_reason"), INC.c.attempts.label("incident_attempts"))
                         .outerjoin(INC, INC.c.project_id == P.c.id).where(P.c.id == bindparam("project_id")))
_TASK_VIEWS = select(T.c.view).where(T.c.project_id == bindparam("project_id"))
_TASK_VIEWS_BY_STATUS = _TASK_VIEWS.where(T.c.status == bindparam("status"))
_TASK = (select(P, T.c.step, T.c.status.label("task_status"), T.c.request_id, T.c.view)
         .join(T, (T.c.project_id == P.c.id) & (T.c.id == bindparam("task_id")))
         .where(P.c.id == bindparam("project_id")))
_OPEN_TASKS = (select(T.c.view).where(T.c.assignee == bindparam("assignee"), T.c.status == "open")
               .order_by(T.c.due_at))


def project_summary(row: RowMapping) -> dict[str, Any]:
    return {"id": row["id"], "title": row["title"],
            "template": {"id": row["template_id"], "version": row["template_version"]},
            "lead": row["lead"], "partners": json.loads(row["partners"]), "status": row["status"],
            "phase": row["phase"], "started_at": row["started_at"], "updated_at": row["updated_at"],
            "seq": row["seq"], "head": row["head"],
            **({"personal_data": json.loads(row["personal_data"])} if row["personal_data"] else {})}


def get_project(engine: Engine, project_id: str, *, with_tasks: bool = False,
                task_status: str | None = None) -> dict[str, Any] | None:
    """The project's summary (and its tasks, in order — only those with ``task_status`` if given —
    and its incident or None), or None."""
    with engine.connect() as conn:
        row = conn.execute(_PROJECT_AND_INCIDENT if with_tasks else _PROJECT,
                           {"project_id": project_id}).mappings().first()
        if row is None:
            return None
        project = project_summary(row)
        if with_tasks:
            project["incident"] = None if row["incident_seq"] is None else {
                "project_id": project_id, "seq": row["incident_seq"], "since": row["incident_since"],
                "reason": row["incident_reason"], "attempts": row["incident_attempts"]}
            views = conn.execute(_TASK_VIEWS if task_status is None else _TASK_VIEWS_BY_STATUS,
                                 {"project_id": project_id, "status": task_status}).scalars().all()
            project["tasks"] = sorted((json.loads(v) for v in views), key=lambda t: int(t["id"].lstrip("t")))
    return project


def get_task(engine: Engine, project_id: str, task_id: str) -> tuple[dict[str, Any], RowMapping] | None:
    """The task's project and its row (step, task_status, request_id, view), in one query."""
    with engine.connect() as conn:
        row = conn.execute(_TASK, {"project_id": project_id, "task_id": task_id}).mappings().first()
    return (project_summary(row), row) if row else None


def list_projects(engine: Engine, *, lead: str | None = None, member: str | None = None) -> list[dict[str, Any]]:
    """All projects, or those led by ``lead``, or those ``member`` is a partner in."""
    query = select(P)
    if lead is not None:
        query = query.where(P.c.lead == lead)
    if member is not None:
        query = query.join(PP, PP.c.project_id == P.c.id).where(PP.c.org_id == member)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(P.c.started_at)).mappings().all()
    return [project_summary(r) for r in rows]


def open_tasks(engine: Engine, assignee: str) -> list[dict[str, Any]]:
    """Open tasks assigned to ``assignee`` across projects, the earliest due first."""
    with engine.connect() as conn:
        views = conn.execute(_OPEN_TASKS, {"assignee": assignee}).scalars().all()
    return [json.loads(v) for v in views]


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
