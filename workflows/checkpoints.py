"""The daily checkpoint: a Temporal Schedule starts this workflow, which signs every active trail."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.contracts import CHECKPOINT_PROJECTS

SCHEDULE_ID = "coopflow-daily-checkpoints"


@workflow.defn
class CheckpointWorkflow:
    @workflow.run
    async def run(self) -> int:
        made: int = await workflow.execute_activity(
            CHECKPOINT_PROJECTS, start_to_close_timeout=timedelta(hours=1), heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5)), result_type=int)
        return made
