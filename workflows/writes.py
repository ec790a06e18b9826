"""How a project's events reach the store, and why this way.

An update decides its events at ``workflow.now()`` and the workflow folds them; a *regular*
activity writes them. Temporal records an activity's input in the history when the workflow
task that scheduled it commits, and runs it only after that. So a workflow task that fails
before it commits (a worker killed, a task too large for the server, a server restart) has
written nothing, and its retry decides afresh; and every attempt of a committed write carries
the very same events, so a retry writes nothing twice. The store never holds an event the
history lacks, and it lags the history only until the write's next attempt succeeds. The
update returns once the write is done, so its caller reads its own write.

A local activity answers sooner but writes before its workflow task commits: a retried task
then decides the same command at another ``workflow.now()`` and the two versions conflict for
good. Runs begun before v1.2 keep their local activity (``workflow.patched``); runs begun since v1.3
(their input names the template by reference) write by activity without asking.

A write the store refuses for good (a different event already at a seq, data the database
cannot take) is not retried for ever: the activity records an incident, and the workflow keeps
its events and waits for an operator's ``retry`` — the history does not grow meanwhile.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, NamedTuple

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import RECORD_EVENTS, STORE_REFUSED, RecordEvents
    from domain import Event, format_time
    from domain.limits import json_size

BUDGET = 256 * 1024  # bytes per write: one activity input stays far below Temporal's 2 MB payload limit
RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=5),
                    non_retryable_error_types=[STORE_REFUSED])


class Unwritten(NamedTuple):
    """One decision's events, and the read models as they are right after it."""

    events: list[Event]
    project: dict[str, Any]
    tasks: dict[str, dict[str, Any]]

    def size(self) -> int:
        """About how many bytes this adds to a write's input."""
        return json_size([e.data for e in self.events]) + 400 * len(self.events) + json_size(self.tasks)


class StoreWrites:
    """The events a workflow has decided that the store does not hold yet, and their writing."""

    def __init__(self, written: int, timeout: float, by_activity: bool | None = None) -> None:
        self.written = written  # the last seq the store holds
        self.incident: dict[str, Any] | None = None
        self._timeout = timedelta(seconds=timeout)
        self._unwritten: list[Unwritten] = []
        self._lock = asyncio.Lock()
        self._by_activity = by_activity  # None: decided at the first write, see flush
        self._attempts = 0
        self._retry_requested = False

    def add(self, events: list[Event], project: dict[str, Any], tasks: dict[str, dict[str, Any]]) -> None:
        self._unwritten.append(Unwritten(events, project, tasks))

    async def flush(self) -> None:
        """Write every unwritten event, in batches; callers that arrive meanwhile share the batches."""
        async with self._lock:
            if self._unwritten and self._by_activity is None:
                # asked at the first write, wherever it happens: an update in a run's first workflow
                # task may write before the workflow's ``run`` has begun
                self._by_activity = workflow.patched("store-writes-by-activity")
            while self._unwritten:
                count = self._batch_size() if self._by_activity else len(self._unwritten)
                chosen = self._unwritten[:count]
                tasks: dict[str, dict[str, Any]] = {}
                for decision in chosen:
                    tasks.update(decision.tasks)
                await self._write(RecordEvents(project=chosen[-1].project, tasks=list(tasks.values()),
                                               events=[e for decision in chosen for e in decision.events]))
                del self._unwritten[:count]
                self.written = chosen[-1].events[-1].seq

    async def retry(self) -> None:
        """An operator's retry of a refused write; returns once that attempt has an outcome."""
        attempts = self._attempts
        self._retry_requested = True
        await workflow.wait_condition(lambda: self._attempts > attempts)

    def check_not_paused(self) -> None:
        if self.incident is not None:
            raise ApplicationError(
                f"This project is paused: the audit store refused its events from seq {self.incident['seq']} on "
                f"(incident since {self.incident['since']}). Nothing was changed; an operator must mend the store "
                "and run `coopflow incident retry`.", self.incident, type="store_unavailable", non_retryable=True)

    def _batch_size(self) -> int:
        """How many decisions go into the next write: at least one, at most ``BUDGET`` bytes."""
        if len(self._unwritten) == 1:
            return 1
        count, size = 0, 0
        for decision in self._unwritten:
            added = decision.size()
            if count and size + added > BUDGET:
                break
            count, size = count + 1, size + added
        return count

    async def _write(self, batch: RecordEvents) -> None:
        """Write until it succeeds; a write the store refuses opens an incident and waits for a retry."""
        while True:
            try:
                if self._by_activity:
                    await workflow.execute_activity(RECORD_EVENTS, batch, start_to_close_timeout=self._timeout,
                                                    retry_policy=RETRY)
                else:
                    await workflow.execute_local_activity(
                        RECORD_EVENTS, batch, start_to_close_timeout=timedelta(seconds=30),
                        retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10), maximum_attempts=20))
                self.incident = None
                self._attempts += 1
                return
            except ActivityError as error:
                cause = error.cause
                reason = cause.message if isinstance(cause, ApplicationError) else str(cause or error)
                since = self.incident["since"] if self.incident else format_time(workflow.now())
                self.incident = {"seq": batch.events[0].seq, "since": since, "reason": reason}
                self._attempts += 1
                workflow.logger.error("The store refused events of project %s from seq %s: %s",
                                      batch.project.get("id"), batch.events[0].seq, reason)
            self._retry_requested = False
            await workflow.wait_condition(lambda: self._retry_requested)
            batch = batch.model_copy(update={"resolves_incident": True})
