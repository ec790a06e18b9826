"""Reads of the read models: projects and the inbox."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from store.db import session
from store.models import Project, ProjectPartner, Task


def project_row(engine: Engine, project_id: str) -> tuple[Project, list[str]] | None:
    with session(engine) as s:
        row = s.get(Project, project_id)
        if row is None:
            return None
        partners = s.exec(select(ProjectPartner.org_id).where(ProjectPartner.project_id == project_id)
                          .order_by(col(ProjectPartner.position)))
        return row, list(partners)


def project_summary(row: Project, partners: list[str]) -> dict[str, Any]:
    return {"id": row.id, "title": row.title,
            "template": {"id": row.template_id, "version": row.template_version},
            "lead": row.lead, "partners": partners, "status": row.status, "phase": row.phase,
            "started_at": row.started_at, "updated_at": row.updated_at}


def project_tasks(engine: Engine, project_id: str) -> list[dict[str, Any]]:
    with session(engine) as s:
        rows = s.exec(select(Task.view).where(Task.project_id == project_id))
        tasks = [json.loads(v) for v in rows]
    return sorted(tasks, key=lambda t: int(t["id"].lstrip("t")))


def task_row(engine: Engine, project_id: str, task_id: str) -> Task | None:
    with session(engine) as s:
        return s.get(Task, (project_id, task_id))


def list_projects(engine: Engine, *, lead: str | None = None, member: str | None = None) -> list[dict[str, Any]]:
    """All projects, or those led by ``lead``, or those ``member`` is a partner in."""
    with session(engine) as s:
        query = select(Project)
        if lead is not None:
            query = query.where(Project.lead == lead)
        if member is not None:
            query = query.join(ProjectPartner).where(ProjectPartner.org_id == member)
        rows = list(s.exec(query.order_by(col(Project.started_at))))
        partners: dict[str, list[str]] = {}
        if rows:
            for link in s.exec(select(ProjectPartner).where(col(ProjectPartner.project_id).in_([r.id for r in rows]))
                              .order_by(col(ProjectPartner.position))):
                partners.setdefault(link.project_id, []).append(link.org_id)
    return [project_summary(r, partners.get(r.id, [])) for r in rows]


def open_tasks(engine: Engine, assignee: str) -> list[dict[str, Any]]:
    """Open tasks assigned to ``assignee`` across projects, the earliest due first."""
    with session(engine) as s:
        rows = s.exec(select(Task.view).where(Task.assignee == assignee, Task.status == "open")
                      .order_by(col(Task.due_at)))
        return [json.loads(v) for v in rows]


def task_view(row: Task) -> dict[str, Any]:
    view: dict[str, Any] = json.loads(row.view)
    return view
