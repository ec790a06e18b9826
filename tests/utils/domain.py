"""Drive the pure domain the way the workflow does, without Temporal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from domain import (
    Actor,
    ChangeProject,
    CompleteTask,
    Event,
    ProjectState,
    RequestExtension,
    StartProject,
    Tick,
    decide,
    fold,
    project_view,
)
from templates import TemplateRegistry
from tests.utils.scenario import next_move

LEAD = "stadt-dortmund"
PARTNERS = ["caritas-rs", "horizon-civitas-mk", "different-and-equal-al"]
COORDINATOR = Actor(user="u-coord", org=LEAD, role="coordinator")
AUDITOR = Actor(user="u-audit", org="audit-office", role="auditor")


def partner(org: str) -> Actor:
    return Actor(user=f"u-{org}", org=org, role="partner")


def actor_for(task: dict[str, Any]) -> Actor:
    if task["assignee"] == "auditor":
        return AUDITOR
    return COORDINATOR if task["assignee"] == LEAD else partner(task["assignee"])


class Project:
    """A project folded in memory, with its clock and its full event list."""

    def __init__(self, *, partners: list[str] | None = None, parameters: dict[str, Any] | None = None,
                 template: Any = None) -> None:
        self.state = ProjectState()
        self.events: list[Event] = []
        self.now = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
        self.partners = PARTNERS if partners is None else partners
        self.run(StartProject(
            project_id="p-test", title="Return counselling pilot",
            template=template or TemplateRegistry().latest("cooperation"), lead=LEAD,
            partners=self.partners, parameters=parameters or {}, actor=COORDINATOR))

    def run(self, command: Any, advance: timedelta = timedelta(minutes=5)) -> list[Event]:
        events = decide(self.state, command, self.now)
        self.state = fold(events, self.state)
        self.events += events
        self.now += advance
        return events

    def tick(self, to: datetime) -> list[Event]:
        self.now = to
        return self.run(Tick(), advance=timedelta(0))

    def tasks(self, **where: Any) -> list[dict[str, Any]]:
        return [t for t in project_view(self.state)["tasks"] if all(t[k] == v for k, v in where.items())]

    def open(self, step: str | None = None) -> list[dict[str, Any]]:
        return [t for t in self.tasks(status="open") if step is None or t["step"] == step]

    def complete(self, task: dict[str, Any], data: dict[str, Any], outcome: str | None = None,
                 actor: Actor | None = None, request_id: str | None = None) -> list[Event]:
        return self.run(CompleteTask(task_id=task["id"], actor=actor or actor_for(task), data=data,
                                     outcome=outcome, request_id=request_id))

    def change(self, kind: str, reason: str = "agreed in the steering group", actor: Actor | None = None,
               **fields: Any) -> list[Event]:
        return self.run(ChangeProject(kind=kind, actor=actor or COORDINATOR, reason=reason, **fields))

    def ask_for_time(self, task: dict[str, Any], due_at: str, reason: str = "staff illness",
                     actor: Actor | None = None) -> list[Event]:
        return self.run(RequestExtension(task_id=task["id"], actor=actor or actor_for(task), due_at=due_at,
                                         reason=reason))

    def play(self, loops: bool = True, until_step: str | None = None) -> None:
        """Complete tasks by the scripted lifecycle until nothing is open (or ``until_step`` opens)."""
        while (move := next_move(self.tasks(), self.partners[0], loops)) is not None:
            task, data, outcome = move
            if task["step"] == until_step:
                return
            self.complete(dict(task), data, outcome)
