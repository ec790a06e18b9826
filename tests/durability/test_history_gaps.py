"""What the history check cannot compare it says, and it raises no alarm for it: an earlier run of the
workflow deleted by the namespace's retention, or written by a run from before v1.2 (through a local
activity, whose events no history holds). A real disagreement in what it can read is still reported."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Sequence
from typing import Any

import pytest
from temporalio import workflow
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.client import WorkflowExecution as Run
from temporalio.service import RPCError, RPCStatusCode

from services import projects
from services.app import Coopflow
from tests.durability.conftest import Workers
from tests.utils.app import actor, play, start
from tests.utils.processes import COOPFLOW
from tests.utils.tamper import tamper

RETENTION = "their run is no longer kept by Temporal (retention)"
LEGACY = "written by a run from before v1.2 through a local activity, which Temporal's history does not hold"


async def runs(client: Client, project_id: str) -> list[Run]:
    """The workflow's runs, oldest first."""
    found = [r async for r in client.list_workflows(f"WorkflowId = 'project-{project_id}'")]
    return sorted(found, key=lambda r: r.start_time)


async def history(client: Client, run: Run) -> Sequence[HistoryEvent]:
    return (await client.get_workflow_handle(run.id, run_id=run.run_id).fetch_history()).events


def last_written_seq(events: Sequence[HistoryEvent]) -> int:
    """The last seq a run handed to a write (its record_events inputs; no codec in the tests)."""
    return max(e["seq"] for event in events if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
               for e in json.loads(event.activity_task_scheduled_event_attributes.input.payloads[0].data)["events"])


def start_seq(events: Sequence[HistoryEvent]) -> int:
    """The seq the run started from: its input's carried state (continue-as-new)."""
    started = events[0].workflow_execution_started_event_attributes
    return int(json.loads(started.input.payloads[0].data)["state"]["seq"])


async def delete_run(client: Client, run: Run) -> None:
    """Delete a closed run as the namespace's retention does, and wait until Temporal has forgotten it."""
    await client.workflow_service.delete_workflow_execution(DeleteWorkflowExecutionRequest(
        namespace=client.namespace, workflow_execution=WorkflowExecution(workflow_id=run.id, run_id=run.run_id)))
    for _ in range(300):  # asynchronous on the server: history first, then the run's visibility record
        try:
            await history(client, run)
        except RPCError as exc:
            assert exc.status == RPCStatusCode.NOT_FOUND
            if run.run_id not in {r.run_id for r in await runs(client, run.id.removeprefix("project-"))}:
                return
        await asyncio.sleep(0.1)
    raise AssertionError("the run was not deleted")


def cli_verify(app: Coopflow, project_id: str) -> subprocess.CompletedProcess[str]:
    """`coopflow audit verify PROJECT --against-history`, as an operator runs it."""
    env = {**os.environ, "COOPFLOW_TEMPORAL_ADDRESS": app.client.service_client.config.target_host,
           "COOPFLOW_DATABASE_URL": app.engine.url.render_as_string(hide_password=False)}
    return subprocess.run([COOPFLOW, "audit", "verify", project_id, "--against-history"], env=env,
                          capture_output=True, text=True, timeout=120)


async def test_an_earlier_run_deleted_by_retention_is_said_not_compared_and_raises_no_alarm(
        caller: Coopflow, workers: Workers):
    auditor = actor(caller, "auditor")
    async with workers.in_process():
        pid = (await start(caller, history_limit=40))["id"]
        await play(caller, pid, until_step="funding_decision")
        first, *later = await runs(caller.client, pid)
        assert later, "the project must have continued-as-new"
        gone = last_written_seq(await history(caller.client, first))
        assert gone == start_seq(await history(caller.client, later[0]))
        await delete_run(caller.client, first)

        result = await caller.verify_against_history(auditor, pid)
        assert result["problems"] == [] and result["ok"]
        assert result["history"]["available"]
        assert result["history"]["not_compared"] == [{"from": 1, "to": gone, "reason": RETENTION}]
        done = await asyncio.to_thread(cli_verify, caller, pid)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"seq 1–{gone}: {RETENTION}; not compared" in done.stdout

        # a real disagreement where a history can be read is still one
        changed = gone + 2
        tamper(caller.engine, "UPDATE audit_event SET actor_user = 'u-someone' WHERE project_id = :p AND seq = :s",
               p=pid, s=changed)
        result = await caller.verify_against_history(auditor, pid)
        assert {"seq": changed, "reason": "differs from the event the workflow recorded"} in result["problems"]
        assert not any("never recorded" in p["reason"] for p in result["problems"]), result["problems"]
        assert result["history"]["not_compared"] == [{"from": 1, "to": gone, "reason": RETENTION}]
        done = await asyncio.to_thread(cli_verify, caller, pid)
        assert done.returncode == 1, done.stdout + done.stderr
        assert f"seq {changed}: differs from the event the workflow recorded" in done.stdout
        assert f"seq 1–{gone}: {RETENTION}; not compared" in done.stdout


def writes_through_a_local_activity(original: Any) -> Any:
    """``workflow.patched`` as code from before v1.2 behaves: no patch for the write by a regular activity."""
    def patched(patch_id: str) -> bool:
        return False if patch_id == "store-writes-by-activity" else bool(original(patch_id))
    return patched


async def test_a_closed_legacy_run_before_a_new_running_one_is_said_not_compared(
        caller: Coopflow, workers: Workers, monkeypatch: pytest.MonkeyPatch):
    auditor = actor(caller, "auditor")
    with monkeypatch.context() as old_code:
        old_code.setattr(workflow, "patched", writes_through_a_local_activity(workflow.patched))
        old_code.setattr(projects, "by_reference", lambda command: command)  # code before v1.3 sent the template
        async with workers.in_process():
            pid = (await start(caller, history_limit=40))["id"]
            await play(caller, pid, until_step="letter_of_intent")
            # the legacy run is the running one: what it holds is asked of it, and all is compared
            result = await caller.verify_against_history(auditor, pid)
            assert result["ok"] and result["history"]["not_compared"] == [], result
    async with workers.in_process():  # today's worker: the legacy run goes on as it was, the next one is new
        await play(caller, pid, until_step="draft_agreement")
        legacy, *later = await runs(caller.client, pid)
        assert later, "the project must have continued-as-new"
        events = await history(caller.client, legacy)
        assert any(e.marker_recorded_event_attributes.marker_name == "core_local_activity" for e in events)
        newest = await history(caller.client, later[-1])
        assert not any(e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
                       and e.marker_recorded_event_attributes.marker_name == "core_local_activity" for e in newest)
        written = start_seq(await history(caller.client, later[0]))

        result = await caller.verify_against_history(auditor, pid)
        assert result["problems"] == [] and result["ok"]
        assert result["history"]["not_compared"] == [{"from": 1, "to": written, "reason": LEGACY}]
        done = await asyncio.to_thread(cli_verify, caller, pid)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"seq 1–{written}: {LEGACY}; not compared" in done.stdout
