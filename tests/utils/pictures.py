"""A realistic project for the pictures: months of work folded by the pure domain on a clock of its own,
with tasks done on time and late, an extension, a waiver, a partner added and one withdrawn, and work
still open (some of it overdue) at ``now``; written to the store as the worker would."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from domain import ProjectState, StartProject, format_time, parse_time, summary_view, task_view
from store import record_batch
from templates import TemplateRegistry
from tests.utils.domain import COORDINATOR, LEAD, Project
from tests.utils.scenario import next_move

DELAYS = (3, 6, 2, 17, 4, 9, 1, 5, 19, 3, 7, 2)  # days before each next completion: 17 and 19 make it late
# the coordinator's changes, each once, the first that applies: after how many completions, which change, its
# fields (from an open partner task), and whether it needs one
CHANGES: tuple[tuple[int, str, Callable[[Any], dict[str, Any]], bool], ...] = (
    (3, "add_partner", lambda t: {"org": "different-and-equal-al", "reason": "A third country joins"}, False),
    (6, "extend_deadline", lambda t: {"task_id": t["id"], "reason": "Board meeting postponed",
                                      "due_at": format_time(parse_time(t["due_at"]) + timedelta(days=10))}, True),
    (9, "withdraw_partner", lambda t: {"org": "horizon-civitas-mk", "reason": "Funding of the partner ended"}, False),
    (11, "waive", lambda t: {"task_id": t["id"], "reason": "Covered by the joint report"}, True),
)


def realistic_project(now: datetime, *, days: int = 200, reports: int = 4,
                      title: str = "Return counselling pilot") -> Project:
    """A cooperation project started ``days`` ago and worked on until about three weeks ago."""
    p = Project.__new__(Project)
    p.state, p.events, p.now = ProjectState(), [], now - timedelta(days=days)
    p.partners = ["caritas-rs", "horizon-civitas-mk"]
    p.run(StartProject(project_id=f"pic-{uuid.uuid4().hex[:8]}", title=title,
                       template=TemplateRegistry().latest("cooperation"), lead=LEAD, partners=p.partners,
                       parameters={"report_count": reports, "report_every": "P1M"}, actor=COORDINATOR))
    stop, moves, done = now - timedelta(days=45), 0, set[str]()
    while p.now < stop:
        p.tick(p.now)
        tasks: list[Mapping[str, Any]] = list(p.tasks())
        move = next_move(tasks, "caritas-rs", loops=False)
        if move is None:  # waiting for the next report to open
            p.now += timedelta(days=5)
            continue
        task, data, outcome = move
        partner_task = next((t for t in p.open() if t["kind"] != "decision" and t["assignee"] != LEAD), None)
        change = next(((kind, fields) for after, kind, fields, of_task in CHANGES if moves >= after and kind not in done
                       and (partner_task is not None or not of_task)), None)
        if change is not None:
            kind, fields = change
            p.change(kind, **fields(partner_task))
            done.add(kind)
            p.now += timedelta(days=2)
            continue
        p.now += timedelta(days=DELAYS[moves % len(DELAYS)])
        if p.now >= stop:
            break
        p.tick(p.now)
        fresh = next((t for t in p.open() if t["id"] == task["id"]), None)
        if fresh is not None:  # dates in the sample data are today's on this clock
            data = {k: p.now.date().isoformat() if k.endswith("_on") else v for k, v in data.items()}
            p.complete(fresh, data, outcome)
        moves += 1
    p.tick(now)
    return p


def store_project(engine: Engine, p: Project) -> str:
    """Write the project's events and read models as the worker's batch does; its id."""
    record_batch(engine, project=summary_view(p.state), events=p.events,
                 tasks=[task_view(p.state, t) for t in p.state.tasks.values()])
    return p.state.id
