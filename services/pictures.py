"""Use cases: the facts the pictures draw (web/pictures.py), read from the store's read model and events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain import Actor, Forbidden, format_time
from services.base import AppBase
from store import pictures, read

# the fields of a task the timeline needs (never its data, comment or who completed it)
TASK_FIELDS = ("id", "phase", "step", "assignee", "subject_org", "round", "occurrence", "status", "opened_at",
               "due_at", "deadline_missed", "closed_at", "on_behalf_of")


class Pictures(AppBase):
    def project_timeline(self, actor: Actor, project_id: str,
                         tasks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """What the project's timeline draws: its start, status, tasks (``tasks`` when the caller has read
        them already, else read here) and its phase and change events. A project one may not see is not
        found."""
        project = self._project(actor, project_id)
        if tasks is None:
            tasks = (read.get_project(self.engine, project_id, with_tasks=True) or {"tasks": []})["tasks"]
        return {"id": project_id, "started_at": project["started_at"], "status": project["status"],
                "updated_at": project["updated_at"], "lead": project["lead"],
                "tasks": [{k: t.get(k) for k in TASK_FIELDS} for t in tasks],
                "events": pictures.timeline_events(self.engine, project_id)}

    def open_work_by_org(self, actor: Actor, now: datetime | None = None) -> list[dict[str, Any]]:
        """Open and overdue tasks per owing organisation across the active projects the actor's organisation
        leads: ``[{"org", "open", "overdue"}]``, the most overdue first. Coordinators only."""
        if actor.role != "coordinator":
            raise Forbidden("Only coordinators see the open work of their projects' partners.")
        moment = format_time(now or datetime.now(UTC))
        return pictures.open_work_by_org(self.engine, lead=actor.org, now=moment)
