"""An Idempotency-Key stands for one request: repeated, it answers as the first did, whatever happened to
the workflow in between (continue-as-new); on another task it is another request; forgotten after its
time, it may start something new."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from domain import InvalidRequest
from services.app import Coopflow
from store.web_state import KEY_DAYS, K
from tests.utils.app import LEAD, PARTNERS, actor, play, start


def events_of(app: Coopflow, pid: str, type: str) -> list[dict]:
    return [e for e in app.list_events(actor(app, "auditor"), pid) if e["type"] == type]


async def test_a_change_repeated_after_continue_as_new_answers_as_the_first(app: Coopflow):
    project = await start(app, history_limit=40)
    pid, coordinator = project["id"], actor(app, LEAD)
    first = await app.change_project(coordinator, pid, kind="withdraw_partner", org=PARTNERS[2],
                                     reason="left the programme", request_id="withdraw-1")
    runs = len([w async for w in app.client.list_workflows(f"WorkflowId = 'project-{pid}'")])
    await play(app, pid, loops=False, until_step="kickoff")
    assert len([w async for w in app.client.list_workflows(f"WorkflowId = 'project-{pid}'")]) > runs
    again = await app.change_project(coordinator, pid, kind="withdraw_partner", org=PARTNERS[2],
                                     reason="left the programme", request_id="withdraw-1")
    assert again["partners"] == first["partners"] == PARTNERS[:2]
    assert len(events_of(app, pid, "PartnerWithdrawn")) == 1
    with pytest.raises(InvalidRequest):  # a new request for the same change is still refused
        await app.change_project(coordinator, pid, kind="withdraw_partner", org=PARTNERS[2],
                                 reason="left the programme", request_id="withdraw-2")


async def test_one_key_on_two_tasks_asks_for_time_twice(app: Coopflow):
    pid = (await start(app))["id"]
    await play(app, pid, loops=False, until_step="letter_of_intent")
    first, second = app.project_tasks(actor(app, LEAD), pid, status="open")[:2]
    await app.change_project(actor(app, LEAD), pid, kind="reassign", task_id=second["id"], org=first["assignee"],
                             reason="Caritas writes both letters")
    for task in (first, second):  # one person, one key, two tasks
        await app.request_extension(actor(app, first["assignee"]), pid, task["id"], due_at="2028-06-01T00:00:00Z",
                                    reason="staff illness", request_id="more-time")
    asked = events_of(app, pid, "ExtensionRequested")
    assert sorted(e["task_id"] for e in asked) == sorted([first["id"], second["id"]])


async def test_a_start_key_reused_after_it_expired_starts_a_new_project(app: Coopflow):
    coordinator = actor(app, LEAD)
    body = {"title": "Return counselling pilot", "partners": PARTNERS}
    first = await app.start_project(coordinator, **body, request_id="start-once")
    assert (await app.start_project(coordinator, **body, request_id="start-once"))["id"] == first["id"]
    with app.engine.begin() as conn:  # the key's time has passed
        conn.execute(update(K).where(K.c.user_id == coordinator.user, K.c.key == "start-once")
                     .values(created_at=K.c.created_at - KEY_DAYS * 86400 - 1))
    later = await app.start_project(coordinator, **body, request_id="start-once")
    assert later["id"] != first["id"]
    assert later["status"] == "active" and later["seq"] == first["seq"]
