"""The worker's workflow sandbox (``worker.workflow_runner``): its snippets compiled once, and it still
refuses what it refused before (file I/O, say; with every module passed through it does not catch
``datetime.now()``: the rule and the replay tests do)."""

from __future__ import annotations

import asyncio
import uuid

from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

import worker
from worker import workflow_runner


@workflow.defn(sandboxed=True)
class Deterministic:
    @workflow.run
    async def run(self) -> str:
        return workflow.now().isoformat()


@workflow.defn(sandboxed=True)
class ReadsAFile:
    @workflow.run
    async def run(self) -> str:
        with open("/etc/hostname") as f:  # what workflow code must never do: I/O
            return f.read()


async def test_the_sandbox_compiles_its_snippets_once_and_still_refuses_io(temporal_client: Client) -> None:
    queue = f"sandbox-{uuid.uuid4()}"
    async with Worker(temporal_client, task_queue=queue, workflows=[Deterministic, ReadsAFile],
                      workflow_runner=workflow_runner()):
        before = worker._compiled.cache_info()
        for _ in range(3):
            await temporal_client.execute_workflow(Deterministic.run, id=f"ok-{uuid.uuid4()}", task_queue=queue)
        after = worker._compiled.cache_info()
        assert after.hits - before.hits >= 6  # every run activates, converts its result, … with compiled code
        assert after.currsize <= 10  # a few fixed snippets, not one per call

        handle = await temporal_client.start_workflow(ReadsAFile.run, id=f"io-{uuid.uuid4()}", task_queue=queue)
        failure = None
        for _ in range(600):  # the failed workflow task shows in the history at once; this bounds a slow machine
            events = (await handle.fetch_history()).events
            failure = next((e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED), None)
            if failure is not None:
                break
            await asyncio.sleep(0.1)
        assert failure is not None, "the sandbox let workflow code read a file"
        refused = failure.workflow_task_failed_event_attributes.failure
        assert refused.application_failure_info.type == "RestrictedWorkflowAccessError"
        assert "__builtins__.open" in refused.message
        await handle.terminate("test over")


def test_a_release_without_the_sdk_internals_falls_back_to_its_sandbox(monkeypatch) -> None:
    monkeypatch.setattr(worker, "_SDK_INSTANCE", object)
    runner = workflow_runner()
    assert type(runner) is SandboxedWorkflowRunner  # the SDK's own, not ours: slower, the same rules
