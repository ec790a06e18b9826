"""Crashes on the real dev server: `coopflow worker` processes that die on purpose (``COOPFLOW_FAULTS``).

The test process holds the application layer (the caller) and, between crashes, a worker of its
own; the worker that crashes is a real process, killed with SIGKILL at the named point.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from domain import Event, fold, project_view, started_state
from services.app import Coopflow
from services.sealing import KeyEncryptionKeys
from tests.utils.app import actor
from tests.utils.processes import Processes
from worker import build_worker

FAST = {"write_timeout": 3.0, "workflow_task_timeout": 3.0}  # how soon a dead worker's work moves on


class Workers:
    """Worker processes and in-process workers on one task queue, against the test's store."""

    def __init__(self, env: WorkflowEnvironment, engine: Engine, task_queue: str) -> None:
        self.client, self.engine, self.task_queue = env.client, engine, task_queue
        self.processes = Processes(env.client.service_client.config.target_host, engine, task_queue)

    async def process(self, faults: str = "") -> subprocess.Popen[str]:
        """A `coopflow worker` process (crashing at ``faults``), once it polls."""
        proc, _ = await asyncio.to_thread(self.processes.start, "worker", faults=faults)
        return proc

    @asynccontextmanager
    async def in_process(self) -> AsyncIterator[None]:
        async with build_worker(self.client, self.engine, self.task_queue, sticky_timeout=1):
            yield

    async def crashed(self, proc: subprocess.Popen[str], timeout: float = 60) -> None:
        """Wait until ``proc`` has killed itself at its fault."""
        code = await asyncio.wait_for(asyncio.to_thread(proc.wait), timeout)
        assert code == -signal.SIGKILL, f"the worker exited with {code}, not by its injected fault"

    def stop(self) -> None:
        self.processes.stop()


@pytest.fixture
def workers(temporal_env: WorkflowEnvironment, engine: Engine) -> Any:
    found = Workers(temporal_env, engine, f"tq-{uuid.uuid4()}")
    yield found
    found.stop()


@pytest.fixture
def caller(temporal_client: Client, engine: Engine, workers: Workers,
           key_encryption_keys: KeyEncryptionKeys) -> Coopflow:
    """The application layer alone (no worker of its own): what the web process or the CLI is."""
    return Coopflow(engine=engine, client=temporal_client, task_queue=workers.task_queue, update_timeout=90,
                    key_encryption_keys=key_encryption_keys, **FAST)


async def completed_updates(client: Client, project_id: str, task_id: str) -> int:
    """How many complete_task updates for ``task_id`` Temporal accepted and completed, over all runs."""
    count = 0
    async for run in client.list_workflows(f"WorkflowId = 'project-{project_id}'"):
        history = await client.get_workflow_handle(run.id, run_id=run.run_id).fetch_history()
        accepted: set[str] = set()
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                request = event.workflow_execution_update_accepted_event_attributes.accepted_request
                if request.input.name == "complete_task" and f'"task_id":"{task_id}"' in \
                        request.input.args.payloads[0].data.decode():
                    accepted.add(request.meta.update_id)
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
                count += event.workflow_execution_update_completed_event_attributes.meta.update_id in accepted
    return count


async def assert_exactly_once(app: Coopflow, project_id: str, task_id: str, user: str) -> list[dict[str, Any]]:
    """One completion of ``task_id`` everywhere: trail, Temporal's history, read model, workflow state."""
    auditor = actor(app, "auditor")
    events = list(app.list_events(auditor, project_id))
    done = [e for e in events if e["task_id"] == task_id and e["type"] in ("StepCompleted", "DecisionRecorded")]
    assert len(done) == 1 and done[0]["actor"]["user"] == user, done
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    check = await app.verify_against_history(auditor, project_id)
    assert check["ok"] and check["history"]["available"], check["problems"]
    assert await completed_updates(app.client, project_id, task_id) == 1
    task = next(t for t in app.show_project(auditor, project_id)["tasks"] if t["id"] == task_id)
    assert task["status"] == "completed" and task["completed_by"]["user"] == user
    inbox = app.list_tasks(actor(app, task["assignee"]))
    assert task_id not in {t["id"] for t in inbox if t["project_id"] == project_id}
    held = await app.client.get_workflow_handle(f"project-{project_id}").query("get_state")
    begun = started_state(app.template_of({"id": project_id}))  # a trail may name its template by digest
    assert held == project_view(fold([Event.model_validate(e) for e in events], begun))
    return events
