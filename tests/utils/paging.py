"""Stores for the paging tests: organisations of their own and projects written through the domain and the
store's own write path (no Temporal), so that a test knows every item a list must show."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from domain import (
    Actor,
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
from tests.utils.scenario import walk_move

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
        move = walk_move(state, partners[0], lead=lead, on=now.date(), loops=False)
        if move is not None and state.tasks[move.task_id].step != until_step:
            run(move)
        elif to_end and move is None and (wake := next_wake(state)) is not None:
            now = max(now, parse_time(wake))
            run(Tick())
        else:
            break
    record_batch(engine, project=summary_view(state), events=events,
                 tasks=[task_view(state, t) for t in state.tasks.values()])
    return state, events
