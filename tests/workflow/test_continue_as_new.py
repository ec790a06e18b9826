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
    assert {k: state[k] for k in before} == before and state["phase"] == "pilot"

    await play(app, pid, loops=True)
    events = list(app.list_events(actor(app, "auditor"), pid))
    check = verify_chain(events)
    assert check["ok"] and check["count"] == len(events) == events[-1]["seq"]
    assert app.show_project(actor(app, LEAD), pid)["status"] == "completed"
    final = await handle.query("get_state")
    assert final["seq"] == len(events) and final["head"] == check["head"]
