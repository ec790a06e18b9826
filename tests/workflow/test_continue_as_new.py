"""A project pushed past the history threshold continues as new, keeping its state and chain."""

from __future__ import annotations

from domain import verify_chain
from services.app import Coopflow
from tests.utils.app import LEAD, actor, play, start


async def test_continue_as_new_keeps_state_and_chain(app: Coopflow):
    project = await start(app, history_limit=40)
    pid = project["id"]
    await play(app, pid, loops=True, until_step="kickoff")
    before = app.show_project(actor(app, LEAD), pid)

    runs = [w async for w in app.client.list_workflows(f"WorkflowId = 'project-{pid}'")]
    assert len(runs) >= 3, "the lifecycle so far must have continued-as-new several times"
    handle = app.client.get_workflow_handle(f"project-{pid}")
    state = await handle.query("get_state")
    assert state["phase"] == "pilot" and before["incident"] is None
    assert {k: state[k] for k in before if k not in ("tasks", "incident")} == {
        k: v for k, v in before.items() if k not in ("tasks", "incident")}
    # a continued run carries its open tasks (and the few closed ones a rule still reads), not the others:
    # the store keeps those
    stored = {t["id"]: t for t in before["tasks"]}
    carried = {t["id"]: t for t in state["tasks"]}
    assert {k for k, t in stored.items() if t["status"] == "open"} <= carried.keys() <= stored.keys()
    assert all(carried[k] == stored[k] for k in carried)
    assert len(carried) < len(stored) - 5

    await play(app, pid, loops=True)
    events = list(app.list_events(actor(app, "auditor"), pid))
    check = verify_chain(events)
    assert check["ok"] and check["count"] == len(events) == events[-1]["seq"]
    assert app.show_project(actor(app, LEAD), pid)["status"] == "completed"
    final = await handle.query("get_state")
    assert final["seq"] == len(events) and final["head"] == check["head"]
