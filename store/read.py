"""Reads of the read models: projects and the inbox (SQL Core: these are on every request)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine, RowMapping

from store.models import Project, ProjectPartner, Task

P = Project.__table__  # type: ignore[attr-defined]
T = Task.__table__  # type: ignore[attr-defined]
PP = ProjectPartner.__table__  # type: ignore[attr-defined]


def project_summary(row: RowMapping) -> dict[str, Any]:
    return {"id": row["id"], "title": row["title"],
            "template": {"id": row["template_id"], "version": row["template_version"]},
            "lead": row["lead"], "partners": json.loads(row["partners"]), "status": row["status"],
            "phase": row["phase"], "started_at": row["started_at"], "updated_at": row["updated_at"]}


def get_project(engine: Engine, project_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(P).where(P.c.id == project_id)).mappings().first()
    return project_summary(row) if row else None


def project_tasks(engine: Engine, project_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        views = conn.execute(select(T.c.view).where(T.c.project_id == project_id)).scalars().all()
    return sorted((json.loads(v) for v in views), key=lambda t: int(t["id"].lstrip("t")))


def get_task(engine: Engine, project_id: str, task_id: str) -> tuple[dict[str, Any], RowMapping] | None:
    """The task's project and its row (status, request_id, view), in one query."""
    with engine.connect() as conn:
        row = conn.execute(
            select(P, T.c.step, T.c.status.label("task_status"), T.c.request_id, T.c.view)
            .join(T, (T.c.project_id == P.c.id) & (T.c.id == task_id))
            .where(P.c.id == project_id)).mappings().first()
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
        views = conn.execute(select(T.c.view).where(T.c.assignee == assignee, T.c.status == "open")
                             .order_by(T.c.due_at)).scalars().all()
    return [json.loads(v) for v in views]
