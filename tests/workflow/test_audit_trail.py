"""The audit trail against the real dev server: time travel, cross-checks, life after retention."""

from __future__ import annotations

import asyncio
import csv
import io
import json

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.service import RPCError, RPCStatusCode

from domain import verify_chain
from evidence.proofs import read_export
from services.app import Coopflow
from services.exports import write_csv, write_jsonl
from services.seed import demo_email
from tests.utils.app import LEAD, PARTNERS, actor, play, start
from tests.utils.scenario import next_move
from tests.utils.tamper import tamper


async def test_as_of_equals_what_the_workflow_reported_at_every_step(app: Coopflow):
    project = await start(app)
    pid = project["id"]
    handle = app.client.get_workflow_handle(f"project-{pid}")
    seen = [await handle.query("get_state")]
    while (move := next_move(app.show_project(actor(app, LEAD), pid)["tasks"], PARTNERS[0])) is not None:
        task, data, outcome = move
        await app.complete_task(actor(app, task["assignee"]), pid, task["id"], data=data, outcome=outcome)
        seen.append(await handle.query("get_state"))
    assert seen[-1]["status"] == "completed" and len(seen) > 40
    for state in seen:
        rebuilt = app.show_project(actor(app, "auditor"), pid, as_of=state["updated_at"])
        assert {k: v for k, v in rebuilt.items() if k != "as_of"} == state


async def test_the_trail_outlives_the_workflow_history(app: Coopflow, tmp_path):
    project = await start(app)
    pid = project["id"]
    await play(app, pid)
    auditor = actor(app, "auditor")
    live = await app.verify_against_history(auditor, pid)
    assert live["ok"] and live["history"]["available"]
    assert live["history"]["updates"] == len([e for e in app.list_events(auditor, pid)
                                              if e["type"] in ("StepCompleted", "DecisionRecorded")])
    events = list(app.list_events(auditor, pid))
    middle = events[len(events) // 2]["at"]
    before = app.show_project(auditor, pid, as_of=middle)

    async for run in app.client.list_workflows(f"WorkflowId = 'project-{pid}'"):
        await app.client.workflow_service.delete_workflow_execution(DeleteWorkflowExecutionRequest(
            namespace=app.client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=run.id, run_id=run.run_id)))
    for _ in range(300):  # deletion is asynchronous on the server (a few seconds, see FAST_QUEUES)
        try:
            await app.client.get_workflow_handle(f"project-{pid}").describe()
        except RPCError as exc:
            assert exc.status == RPCStatusCode.NOT_FOUND
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the workflow execution was not deleted")

    assert list(app.list_events(auditor, pid)) == events
    assert app.verify(auditor, pid)["ok"]
    assert app.show_project(auditor, pid, as_of=middle) == before
    assert app.show_project(auditor, pid)["status"] == "completed"
    after = await app.verify_against_history(auditor, pid)
    assert after["ok"] and not after["history"]["available"] and "retention" in after["history"]["reason"]
    out = tmp_path / "trail.jsonl"
    with out.open("w") as f:
        assert write_jsonl(app.list_events(auditor, pid), f) == len(events)
    assert verify_chain(read_export(out)) == {**app.verify(auditor, pid), "problems": []}


async def test_history_cross_check_finds_a_changed_trail(app: Coopflow):
    project = await start(app)
    pid = project["id"]
    await play(app, pid, until_step="application_submitted")
    auditor = actor(app, "auditor")
    assert (await app.verify_against_history(auditor, pid))["ok"]
    tamper(app.engine, "UPDATE audit_event SET actor_user = 'u-someone' WHERE project_id = :p AND seq = 8", p=pid)
    result = await app.verify_against_history(auditor, pid)
    reasons = {(p["seq"], p["reason"]) for p in result["problems"]}
    assert (8, "differs from the event the workflow recorded") in reasons
    assert (8, "changed: its contents do not match its hash") in reasons
    assert any(p["seq"] is None and "no such completion" in p["reason"] for p in result["problems"])


async def test_auditor_filters_and_exports(app: Coopflow):
    project = await start(app)
    pid = project["id"]
    await play(app, pid, until_step="draft_agreement")
    auditor = actor(app, "auditor")
    everything = list(app.list_events(auditor, pid))
    caritas = list(app.list_events(auditor, pid, by_email=demo_email("caritas-rs")))
    assert caritas and all(e["actor"]["org"] == "caritas-rs" for e in caritas)
    assert list(app.list_events(auditor, pid, org="caritas-rs")) == caritas
    decisions = list(app.list_events(auditor, pid, type="DecisionRecorded"))
    assert [e["data"]["outcome"] for e in decisions] == ["revise", "approved"]
    cut = everything[10]["at"]
    assert [e["seq"] for e in app.list_events(auditor, pid, since=cut)] == [
        e["seq"] for e in everything if e["at"] >= cut]
    assert [e["seq"] for e in app.list_events(auditor, pid, until=cut)] == [
        e["seq"] for e in everything if e["at"] <= cut]
    text = io.StringIO()
    assert write_csv(everything, text, app.user_emails()) == len(everything)
    rows = list(csv.DictReader(io.StringIO(text.getvalue())))
    assert list(rows[0])[:7] == ["seq", "type", "at", "actor_user", "actor_email", "actor_org", "actor_role"]
    assert rows[0]["actor_email"] == demo_email(LEAD) and rows[0]["actor_org"] == LEAD
    assert json.loads(rows[0]["data"])["title"] == "Return counselling pilot"
    assert [int(r["seq"]) for r in rows] == [e["seq"] for e in everything]
