"""Starting the daily digests' workflow (workflows/digests.py): `coopflow temporal setup` and `coopflow dev`."""

from __future__ import annotations

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from workflows.digests import WORKFLOW_ID, DigestWorkflow


async def ensure_digests(client: Client, task_queue: str) -> str:
    """Start the digest workflow unless it runs on ``task_queue`` already: "running" or "started" (one running
    on another task queue, which this deployment's workers no longer poll, is ended and started anew)."""
    handle = client.get_workflow_handle(WORKFLOW_ID)
    try:
        described = await handle.describe()
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
    else:
        if described.status == WorkflowExecutionStatus.RUNNING:
            if described.task_queue == task_queue:
                return "running"
            await handle.terminate(reason=f"the daily digests move to the task queue {task_queue}")
    await client.start_workflow(DigestWorkflow.run, id=WORKFLOW_ID, task_queue=task_queue,
                                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
    return "started"
