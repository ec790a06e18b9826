"""``ProjectWorkflow``: one durable workflow per project, folding domain events.

How a change reaches the store, and why this way: an update decides its events at
``workflow.now()`` and folds them into the state; a *regular* activity writes them. Temporal
records an activity's input in the history when the workflow task that scheduled it commits,
and runs it only after that. So a workflow task that fails before it commits (a worker
killed, a task too large for the server, a server restart) has written nothing, and its retry
decides afresh; and every attempt of a committed write carries the very same events, so a
retry writes nothing twice. The store never holds an event the history lacks, and it lags the
history only until the write's next attempt succeeds. The update returns once the write is
done, so its caller reads its own write. (A local activity answers sooner but writes before
its workflow task commits: a retried task then decides the same command at another
``workflow.now()`` and the two versions conflict for good. Runs begun before this design keep
their local activity; see ``workflow.patched`` below.)
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, NamedTuple

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import RECORD_EVENTS, STORE_REFUSED, RecordEvents
    from domain import (
        CompleteTask,
        DomainError,
        Event,
        ProjectState,
        StartProject,
        Tick,
        decide,
        fold,
        format_time,
        next_wake,
        parse_time,
        project_view,
        summary_view,
        task_view,
    )
    from domain.limits import json_size

PHASE = SearchAttributeKey.for_keyword("CoopflowPhase")
STATUS = SearchAttributeKey.for_keyword("CoopflowStatus")
LEAD = SearchAttributeKey.for_keyword("CoopflowLead")
SEARCH_ATTRIBUTES = (PHASE, STATUS, LEAD)
WRITE_BUDGET = 256 * 1024  # bytes per write: one activity input stays far below Temporal's 2 MB payload limit
WRITE_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=5),
                          non_retryable_error_types=[STORE_REFUSED])


class ProjectInput(BaseModel):
    """Either the command that starts a project, or the state carried over by continue-as-new."""

    start: StartProject | None = None
    state: ProjectState | None = None
    history_limit: int | None = None  # continue-as-new after this many history events (tests)
    write_timeout: float = 10.0  # seconds one attempt of a store write may take before it is tried again


class _Unwritten(NamedTuple):
    """One decision's events, and the read models as they are right after it."""

    events: list[Event]
    project: dict[str, Any]
    tasks: dict[str, dict[str, Any]]
    size: int


def workflow_id(project_id: str) -> str:
    return f"project-{project_id}"


def _rejection(error: DomainError) -> ApplicationError:
    return ApplicationError(error.message, error.details, type=error.code, non_retryable=True)


@workflow.defn
class ProjectWorkflow:
    @workflow.init
    def __init__(self, input: ProjectInput) -> None:
        self._state = input.state or ProjectState()
        self._history_limit = input.history_limit
        self._write_timeout = input.write_timeout
        self._events: list[Event] = []  # this run's events; the store keeps them all
        self._unwritten: list[_Unwritten] = []
        self._written = self._state.seq
        self._flush_lock = asyncio.Lock()
        self._wake_at: str | None = None
        self._wake_only_earlier = False
        self._by_activity: bool | None = None  # decided at the first write: see _flush
        self._incident: dict[str, Any] | None = None
        self._write_attempts = 0
        self._retry_requested = False

    @workflow.run
    async def run(self, input: ProjectInput) -> str:
        if input.start is not None and self._state.status == "new":
            try:
                self._apply(decide(self._state, input.start, workflow.now()))
            except DomainError as error:
                raise _rejection(error) from None
        await self._flush()
        # Since v1.1 the deadline timer is restarted only for an earlier deadline, not for every
        # completion; a timer that fires with nothing due just ticks with no events.
        self._wake_only_earlier = workflow.patched("wake-only-earlier")
        while self._state.status == "active" and not self._should_continue_as_new():
            self._wake_at = next_wake(self._state)
            timeout = None
            if self._wake_at is not None:
                timeout = max((parse_time(self._wake_at) - workflow.now()).total_seconds(), 0.001)
            try:
                await workflow.wait_condition(self._must_wake, timeout=timeout)
            except TimeoutError:
                assert self._wake_at is not None
                now = max(workflow.now(), parse_time(self._wake_at))
                self._apply(decide(self._state, Tick(), now))
                await self._flush()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._flush()
        if self._state.status == "active":
            workflow.continue_as_new(ProjectInput(state=self._state.compacted(), history_limit=self._history_limit,
                                                  write_timeout=self._write_timeout))
        return self._state.status

    def _must_wake(self) -> bool:
        if self._state.status != "active" or self._should_continue_as_new():
            return True
        wake = next_wake(self._state)
        if self._wake_only_earlier:
            return wake is not None and (self._wake_at is None or wake < self._wake_at)
        return wake != self._wake_at

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        if info.is_continue_as_new_suggested():
            return True
        return self._history_limit is not None and info.get_current_history_length() > self._history_limit

    # -- what users do ----------------------------------------------------------------------
    @workflow.update
    async def complete_task(self, command: CompleteTask) -> dict[str, Any]:
        """Complete a task; returns once its events are in the audit store."""
        try:
            events = decide(self._state, command, workflow.now())
        except DomainError as error:  # the state changed since the validator ran
            raise _rejection(error) from None
        self._apply(events)
        await self._flush()
        return task_view(self._state, self._state.tasks[command.task_id])

    @complete_task.validator
    def validate_complete_task(self, command: CompleteTask) -> None:
        """Refuse before anything reaches the history: wrong person, closed task, bad data, paused project."""
        self._check_not_paused()
        try:
            decide(self._state, command, workflow.now())
        except DomainError as error:
            raise _rejection(error) from None

    @workflow.update
    async def sync(self) -> dict[str, Any]:
        """Returns the project once all that is due by now has happened and is in the store.

        Starting a project calls it (update-with-start), so the caller reads its own write.
        """
        await workflow.wait_condition(lambda: self._state.status != "new" and not self._tick_due())
        await self._flush()
        return project_view(self._state)

    def _tick_due(self) -> bool:
        wake = next_wake(self._state)
        return wake is not None and parse_time(wake) <= workflow.now()

    # -- what operators do ------------------------------------------------------------------
    @workflow.update
    async def retry_writes(self) -> dict[str, Any]:
        """Try the write the store refused once more (after the store was mended); returns the outcome."""
        attempts = self._write_attempts
        self._retry_requested = True
        await workflow.wait_condition(lambda: self._write_attempts > attempts)
        return self.get_progress()

    @retry_writes.validator
    def validate_retry_writes(self) -> None:
        if self._incident is None:
            raise ApplicationError("This project has no incident: every event it holds is in the store.",
                                   type="invalid_request", non_retryable=True)

    def _check_not_paused(self) -> None:
        if self._incident is not None:
            raise ApplicationError(
                f"This project is paused: the audit store refused its events from seq {self._incident['seq']} on "
                f"(incident since {self._incident['since']}). Nothing was changed; an operator must mend the store "
                "and run `coopflow incident retry`.", self._incident, type="store_unavailable", non_retryable=True)

    # -- reads ------------------------------------------------------------------------------
    @workflow.query
    def get_state(self) -> dict[str, Any]:
        """The state this run holds (after continue-as-new, closed tasks' data lives in the store only)."""
        return project_view(self._state)

    @workflow.query
    def get_events(self) -> list[Event]:
        """The events this run produced (a run that continued-as-new starts a new list)."""
        return self._events

    @workflow.query
    def get_progress(self) -> dict[str, Any]:
        """How far the workflow's events reach, how far the store has them, and any incident."""
        return {"seq": self._state.seq, "head": self._state.head, "written": self._written,
                "incident": self._incident}

    # -- folding and writing ----------------------------------------------------------------
    def _apply(self, events: list[Event]) -> None:
        if not events:
            return
        before = (self._state.phase, self._state.status)
        self._state = fold(events, self._state)
        self._events += events
        touched = dict.fromkeys(e.task_id for e in events if e.task_id)
        tasks = {t: {**task_view(self._state, self._state.tasks[t]), "request_id": self._state.tasks[t].request_id}
                 for t in touched}
        size = json_size([e.data for e in events]) + 400 * len(events) + json_size(tasks)
        self._unwritten.append(_Unwritten(events, summary_view(self._state), tasks, size))
        if (self._state.phase, self._state.status) != before:
            workflow.upsert_search_attributes([
                PHASE.value_set(self._state.phase or ""), STATUS.value_set(self._state.status)])

    async def _flush(self) -> None:
        """Write every unwritten event, in batches; callers that arrive meanwhile share the batches."""
        async with self._flush_lock:
            if self._unwritten and self._by_activity is None:
                # Since v1.2 events are written by a regular activity (see the module's docstring); a run
                # that began before keeps its local activity. Asked at the first write, wherever it happens
                # (an update in a run's first task may write before ``run`` has begun).
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
                self._written = chosen[-1].events[-1].seq

    def _batch_size(self) -> int:
        """How many decisions go into the next write: at least one, at most ``WRITE_BUDGET`` bytes."""
        count, size = 0, 0
        for decision in self._unwritten:
            if count and size + decision.size > WRITE_BUDGET:
                break
            count, size = count + 1, size + decision.size
        return count

    async def _write(self, batch: RecordEvents) -> None:
        """Write until it succeeds; a write the store refuses opens an incident and waits for an operator."""
        while True:
            try:
                if self._by_activity:
                    await workflow.execute_activity(
                        RECORD_EVENTS, batch, start_to_close_timeout=timedelta(seconds=self._write_timeout),
                        retry_policy=WRITE_RETRY)
                else:
                    await workflow.execute_local_activity(
                        RECORD_EVENTS, batch, start_to_close_timeout=timedelta(seconds=30),
                        retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10), maximum_attempts=20))
                self._incident = None
                self._write_attempts += 1
                return
            except ActivityError as error:
                cause = error.cause
                reason = cause.message if isinstance(cause, ApplicationError) else str(cause or error)
                since = self._incident["since"] if self._incident else format_time(workflow.now())
                self._incident = {"seq": batch.events[0].seq, "since": since, "reason": reason}
                self._write_attempts += 1
                workflow.logger.error("The store refused events of project %s from seq %s: %s",
                                      self._state.id, batch.events[0].seq, reason)
            self._retry_requested = False
            await workflow.wait_condition(lambda: self._retry_requested)
            batch = batch.model_copy(update={"resolves_incident": True})
