"""Witnessing: a Temporal Schedule starts this workflow every minute; it sends what is not yet cosigned."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.contracts import SUBMIT_TO_WITNESSES

SCHEDULE_ID = "coopflow-witnesses"
EVERY = timedelta(minutes=1)


@workflow.defn
class WitnessWorkflow:
    @workflow.run
    async def run(self) -> dict[str, int]:
        # a witness's own failures are kept by the activity; this retries what failed the run itself (the store)
        done: dict[str, int] = await workflow.execute_activity(
            SUBMIT_TO_WITNESSES, start_to_close_timeout=timedelta(minutes=10), heartbeat_timeout=timedelta(minutes=1),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=2), backoff_coefficient=2.0,
                                     maximum_interval=timedelta(seconds=30), maximum_attempts=5),
            result_type=dict[str, int])
        return done
