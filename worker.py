"""The composition root of a worker: store, activities, workflows, logging context."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from types import CodeType
from typing import Any

import structlog
from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    Worker,
    WorkflowInstance,
    WorkflowInstanceDetails,
)
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
from temporalio.worker.workflow_sandbox import _runner as sandbox_internals

from activities import StoreWrites
from activities.checkpoints import CheckpointActivities
from activities.digests import DigestActivities
from activities.sender import MailSender, Smtp
from activities.witnesses import WitnessActivities
from domain import InvalidRequest, Template
from domain.tally import TemplateRef
from evidence.notes import Signer
from store.documents import DocumentStorage
from store.pinned import PinnedTemplates
from templates import TemplateRegistry
from workflows import ProjectWorkflow
from workflows.checkpoints import CheckpointWorkflow
from workflows.digests import DigestWorkflow
from workflows.templates import add_source
from workflows.witnesses import WitnessWorkflow

log = structlog.get_logger("coopflow.worker")


class _BindActivityContext(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        with structlog.contextvars.bound_contextvars(
                workflow_id=info.workflow_id, project_id=(info.workflow_id or "").removeprefix("project-"),
                activity=info.activity_type, attempt=info.attempt):
            return await self.next.execute_activity(input)


class LoggingInterceptor(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _BindActivityContext(next)


@functools.lru_cache(maxsize=64)
def _compiled(code: str) -> CodeType:
    return compile(code, "<sandbox>", "exec")


_SDK_INSTANCE: Any = getattr(sandbox_internals, "_Instance", object)


class _CompiledOnce(_SDK_INSTANCE):
    """The sandbox runs one of a few fixed snippets of code for each workflow activation and for each
    payload it converts, and compiles the snippet again every time: measured (py-spy) at 12 % of a
    worker's CPU with temporalio 1.35. Compiled once here; what runs, and its restrictions, are the
    same. There is no public way: ``SandboxedWorkflowRunner`` takes only ``restrictions`` and
    ``runner_class`` (the runner *inside* the sandbox), and the compiling happens in the private
    ``_Instance._run_code`` (temporalio 1.35). Should a release change it, ``workflow_runner`` falls back to
    the SDK's sandbox as it is, and tests/workflow/test_sandbox.py fails, to say so."""

    def _run_code(self, code: str, **extra_globals: Any) -> None:
        super()._run_code(_compiled(code), **extra_globals)  # exec takes code or its text


@dataclass(frozen=True)
class _Sandbox(SandboxedWorkflowRunner):
    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        instance: WorkflowInstance = _CompiledOnce(det, self.runner_class, self.restrictions)
        return instance


def workflow_runner() -> SandboxedWorkflowRunner:
    """Every module passes through the sandbox: imported once and shared, not re-imported for each
    workflow run — much faster, and safe only because no module does anything at import time.
    What keeps workflow code deterministic is our rule (``workflow.now()``, no I/O, ``workflow.patched``
    for changes) and the replay tests that prove it; the sandbox only refuses some calls at run time."""
    restrictions = SandboxRestrictions.default.with_passthrough_all_modules()
    if callable(getattr(_SDK_INSTANCE, "_run_code", None)):
        return _Sandbox(restrictions=restrictions)
    return SandboxedWorkflowRunner(restrictions=restrictions)


def add_template_sources(engine: Engine | None, templates: TemplateRegistry | None) -> None:
    """Where this worker's workflows (or a replayer's) find a template by its reference
    (``workflows/templates.py``): the store's pinned copy of the project's template, and the template folders."""
    registry = templates or TemplateRegistry()

    def installed(project_id: str, ref: TemplateRef) -> Template | None:
        try:
            return registry.get(ref.id, ref.version)
        except InvalidRequest:
            return None

    if engine is not None:
        pinned = PinnedTemplates(engine)
        # a text kept by its digest (any project's), else the project's own first event
        add_source(f"the store ({id(engine)})",
                   lambda project_id, ref: pinned.by_digest(project_id, ref) or pinned.of(project_id))
    add_source(f"the template folders ({id(registry)})", installed)


def build_worker(client: Client, engine: Engine, task_queue: str, *, max_concurrent: int = 100,
                 faults: str = "", sticky_timeout: float = 3.0, public_url: str = "http://127.0.0.1:8000",
                 signer: Signer | Callable[[], Signer] | None = None,
                 documents: DocumentStorage | None = None, templates: TemplateRegistry | None = None,
                 max_cached_workflows: int = 1000) -> Worker:
    """A worker for every coopflow workflow and activity on ``task_queue``.

    ``faults`` (``COOPFLOW_FAULTS``) makes it crash on purpose, see ``faults.py``;
    ``sticky_timeout`` is how long a workflow waits for this worker before another takes it;
    ``signer`` signs checkpoints (the deployment's key; without one, a key of this worker alone: tests);
    ``documents`` is where an erased project's sealed documents are removed from;
    ``templates`` the deployment's template folders (built-in ones only: None).
    ``max_cached_workflows`` 0 keeps no workflow in this worker's cache, and so none on its sticky queue (a test
    that stops a worker on the time-skipping server, whose clock does not move while a workflow task waits there).
    """
    add_template_sources(engine, templates)
    key = signer() if callable(signer) else signer or Signer.generate("coopflow/local")
    interceptors: list[Interceptor] = [LoggingInterceptor()]
    crash = None
    if faults:
        from faults import FaultInterceptor, Faults

        injected = Faults(faults)
        interceptors.append(FaultInterceptor(injected))
        crash = injected.hit
    writes = StoreWrites(engine, public_url, signer=key, fault=crash, documents=documents)
    checkpoints = CheckpointActivities(engine, key)
    return Worker(
        client, task_queue=task_queue, workflows=[ProjectWorkflow, CheckpointWorkflow, WitnessWorkflow, DigestWorkflow],
        activities=[writes.record_events, checkpoints.checkpoint_active_projects,
                    WitnessActivities(engine).submit_to_witnesses, DigestActivities(engine, public_url).send_digests],
        activity_executor=ThreadPoolExecutor(max_workers=16), interceptors=interceptors,
        max_concurrent_workflow_tasks=max_concurrent, max_concurrent_local_activities=max_concurrent,
        max_cached_workflows=max_cached_workflows,
        max_concurrent_activities=16, workflow_runner=workflow_runner(),
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=sticky_timeout),
    )


async def run_worker(client: Client, engine: Engine, task_queue: str, stop: asyncio.Event, *,
                     faults: str = "", sticky_timeout: float = 3.0, public_url: str = "http://127.0.0.1:8000",
                     smtp: Smtp | None = None, signer: Signer | Callable[[], Signer] | None = None,
                     documents: DocumentStorage | None = None, templates: TemplateRegistry | None = None) -> None:
    """Run until ``stop`` is set, then finish what is in flight and return; with ``smtp``, the mail
    sender runs beside it."""
    worker = build_worker(client, engine, task_queue, faults=faults, sticky_timeout=sticky_timeout,
                          public_url=public_url, signer=signer, documents=documents, templates=templates)
    log.info("worker started", task_queue=task_queue)
    async with worker:
        if smtp is not None:
            await MailSender(engine, smtp).run(stop)
        await stop.wait()
    log.info("worker stopped", task_queue=task_queue)
