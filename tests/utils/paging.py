"""Stores for the paging tests: organisations of their own and projects written through the domain and the
store's own write path (no Temporal), so that a test knows every item a list must show."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from domain import (
    Actor,
    CompleteTask,
    Event,
    ProjectState,
    StartProject,
    Tick,
    decide,
    fold,
    next_wake,
    parse_time,
    summary_view,
    task_view,
)
from store import accounts, record_batch
from templates import TemplateRegistry
from tests.utils.scenario import next_move

PASSWORD = "paging-test-password"


@dataclass
class Org:
    id: str
    email: str
    token: str
    actor: Actor


def new_org(engine: Engine, role: str) -> Org:
    """An organisation of this test only, with one user (a password and an API token)."""
    org = f"{role[:5]}-{uuid.uuid4().hex[:8]}"
    accounts.add_org(engine, org_id=org, name=f"Org {org}", country="DE")
    user, token = accounts.add_user(engine, email=f"{org}@paging.example", org_id=org, role=role, name="Paging",
                                    password=PASSWORD)
    return Org(org, user.email, token, Actor(user=user.id, org=org, role=role))


def _actor(task: Any, lead: str) -> Actor:
    if task["assignee"] == "auditor":
        return Actor(user="u-audit", org="audit-office", role="auditor")
    role = "coordinator" if task["assignee"] == lead else "partner"
    return Actor(user=f"u-{task['assignee']}", org=task["assignee"], role=role)


def store_project(engine: Engine, *, lead: str, partners: list[str], minutes: int = 0,
                  until_step: str | None = None, report_count: int = 1, to_end: bool = False
                  ) -> tuple[ProjectState, list[Event]]:
    """A project written to the store, started ``minutes`` after 2027-01-04 09:00: played by the scripted walk
    until ``until_step`` opens, or with ``to_end`` (recurring reports opened by ticks) until it ends."""
    now = datetime(2027, 1, 4, 9, 0, tzinfo=UTC) + timedelta(minutes=minutes)
    state, events = ProjectState(), list[Event]()

    def run(command: Any) -> None:
        nonlocal state, now
        found = decide(state, command, now)
        state = fold(found, state)
        events.extend(found)
        now += timedelta(minutes=5)

    project_id = f"pg-{uuid.uuid4().hex[:10]}"
    run(StartProject(project_id=project_id, title=f"Paging {project_id}",
                     template=TemplateRegistry().latest("cooperation"), lead=lead, partners=partners,
                     parameters={"report_count": report_count}, actor=Actor(user=f"u-{lead}", org=lead,
                                                                             role="coordinator")))
    while state.status == "active":
        opened: list[Mapping[str, Any]] = [
            {k: getattr(t, k) for k in ("id", "step", "assignee", "subject_org", "round", "occurrence", "status")}
            for t in state.tasks.values() if t.status == "open"]
        move = next_move(opened, partners[0], loops=False)
        if move is not None and move[0]["step"] != until_step:
            data = {k: now.date().isoformat() if k in ("submitted_on", "started_on") else v for k, v in move[1].items()}
            run(CompleteTask(task_id=move[0]["id"], actor=_actor(move[0], lead), data=data, outcome=move[2]))
        elif to_end and move is None and (wake := next_wake(state)) is not None:
            now = max(now, parse_time(wake))
            run(Tick())
        else:
            break
    record_batch(engine, project=summary_view(state), events=events,
                 tasks=[task_view(state, t) for t in state.tasks.values()])
    return state, events
