"""Reads for the pictures (web/pictures.py): a project's phases and changes, and the open work per
organisation across a lead organisation's projects. One statement each, built once, bound parameters."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.engine import Engine

from store.models import AuditEvent, Project, Task

P = Project.__table__  # type: ignore[attr-defined]
T = Task.__table__  # type: ignore[attr-defined]
EV = AuditEvent.__table__  # type: ignore[attr-defined]

# what the timeline draws besides the tasks: phases as bands, the project's end, and the changes as markers
TIMELINE_EVENTS = ("PhaseStarted", "PhaseCompleted", "ProjectEnded", "ProjectCancelled", "DeadlineExtended",
                   "StepWaived", "TaskReassigned", "PartnerAdded", "PartnerWithdrawn")

EVENT_DATA = ("org", "from", "to", "due_at", "status")  # what a marker says (never a reason: the trail has it)

_MARKS = (select(EV.c.seq, EV.c.type, EV.c.at, EV.c.phase, EV.c.step, EV.c.task_id, EV.c.data)
          .where(EV.c.project_id == bindparam("project_id"), EV.c.type.in_(TIMELINE_EVENTS))
          .order_by(EV.c.seq))

_OVERDUE = func.sum(case((T.c.due_at < bindparam("now"), 1), else_=0))
_LOAD = (select(T.c.assignee, func.count().label("open"), _OVERDUE.label("overdue"))
         .join(P, P.c.id == T.c.project_id)
         .where(P.c.lead == bindparam("lead"), P.c.status == "active", T.c.status == "open")
         .group_by(T.c.assignee))


def timeline_events(engine: Engine, project_id: str) -> list[dict[str, Any]]:
    """The project's phase, end and change events in seq order (only the fields a picture needs; no
    actor and no reason: the trail shows those)."""
    with engine.connect() as conn:
        rows = conn.execute(_MARKS, {"project_id": project_id}).mappings().all()
    out = []
    for row in rows:
        data = json.loads(row["data"])
        out.append({"seq": row["seq"], "type": row["type"], "at": row["at"], "phase": row["phase"],
                    "step": row["step"], "task_id": row["task_id"],
                    "data": {k: data[k] for k in EVENT_DATA if k in data}})
    return out


def open_work_by_org(engine: Engine, *, lead: str, now: str) -> list[dict[str, Any]]:
    """Open and overdue tasks per owing organisation across the active projects ``lead`` leads (one
    query over the inbox read model), the most overdue first."""
    with engine.connect() as conn:
        rows = conn.execute(_LOAD, {"lead": lead, "now": now}).mappings().all()
    found = [{"org": r["assignee"], "open": int(r["open"]), "overdue": int(r["overdue"] or 0)} for r in rows]
    return sorted(found, key=lambda r: (-r["overdue"], -r["open"], r["org"]))
