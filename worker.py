"""The composition root of a worker: store, activities, workflows, logging context."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
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
)
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities import AuditActivities
from workflows import ProjectWorkflow

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


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox still guards determinism; modules pass through instead of being re-imported
    for every workflow run (they have no import-time side effects: see STYLE.md)."""
    return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_all_modules())


def build_worker(client: Client, engine: Engine, task_queue: str, *, max_concurrent: int = 100) -> Worker:
    """A worker for every coopflow workflow and activity on ``task_queue``."""
    audit = AuditActivities(engine)
    return Worker(
        client, task_queue=task_queue, workflows=[ProjectWorkflow], activities=[audit.record_events],
        activity_executor=ThreadPoolExecutor(max_workers=16), interceptors=[LoggingInterceptor()],
        max_concurrent_workflow_tasks=max_concurrent, max_concurrent_local_activities=max_concurrent,
        workflow_runner=workflow_runner(),
    )


async def run_worker(client: Client, engine: Engine, task_queue: str, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set, then finish what is in flight and return."""
    worker = build_worker(client, engine, task_queue)
    log.info("worker started", task_queue=task_queue)
    async with worker:
        await stop.wait()
    log.info("worker stopped", task_queue=task_queue)
