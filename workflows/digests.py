"""Daily digests: one long-running workflow wakes every quarter of an hour on a durable timer and has the
digests due at that moment made (activities/digests.py decides whose: local time past 07:00, none yet that day).

A durable timer rather than a Schedule: its time is the workflow's, so the time-skipping test server runs a
whole digest day, and a stopped worker or server delays a digest but never loses it. It continues as new once
a day, to keep its history short.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import SEND_DIGESTS
    from domain import format_time

WORKFLOW_ID = "coopflow-digests"
EVERY = timedelta(minutes=15)
RUNS = 96  # a day of quarter hours, then continue-as-new


def next_tick(now: datetime) -> datetime:
    """The next full quarter of an hour after ``now`` (UTC): 07:00 local falls on one in every whole- or
    quarter-hour offset."""
    start = now.replace(minute=0, second=0, microsecond=0)
    return start + EVERY * (int((now - start) / EVERY) + 1)


@workflow.defn
class DigestWorkflow:
    @workflow.run
    async def run(self, runs: int = RUNS) -> None:
        for _ in range(runs):
            now = workflow.now()
            await workflow.sleep(next_tick(now) - now)
            try:
                await workflow.execute_activity(
                    SEND_DIGESTS, format_time(workflow.now()), result_type=int,
                    start_to_close_timeout=timedelta(minutes=5), heartbeat_timeout=timedelta(minutes=1),
                    # a run that cannot finish (the store away) gives way to the next quarter hour's, which
                    # makes whatever is still due
                    schedule_to_close_timeout=EVERY - timedelta(minutes=1),
                    retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=2)))
            except ActivityError:
                workflow.logger.warning("daily digests could not be made now; the next quarter hour tries again")
        workflow.continue_as_new(runs)
