"""``ProjectWorkflow``: one durable workflow per project, folding domain events."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import RECORD_EVENTS, RecordEvents
    from domain import (
        CompleteTask,
        DomainError,
        Event,
        ProjectState,
        StartProject,
        Tick,
        decide,
        fold,
        next_wake,
        parse_time,
        project_view,
        summary_view,
        task_view,
    )

PHASE = SearchAttributeKey.for_keyword("CoopflowPhase")
STATUS = SearchAttributeKey.for_keyword("CoopflowStatus")
LEAD = SearchAttributeKey.for_keyword("CoopflowLead")
SEARCH_ATTRIBUTES = (PHASE, STATUS, LEAD)


class ProjectInput(BaseModel):
    """Either the command that starts a project, or the state carried over by continue-as-new."""

    start: StartProject | None = None
    state: ProjectState | None = None
    history_limit: int | None = None  # continue-as-new after this many history events (tests)


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
        self._events: list[Event] = []  # this run's events; the store keeps them all
        self._persisted = self._state.seq
        self._flush_lock = asyncio.Lock()
        self._wake_at: str | None = None
        self._wake_only_earlier = False
        # what the validator decided, so that the handler need not decide again (never replayed:
        # validators do not run on replay, and the handler then decides the same events itself)
        self._validated: tuple[CompleteTask, int, str, list[Event]] | None = None

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
        if self._state.status == "active":
            workflow.continue_as_new(ProjectInput(state=self._state, history_limit=self._history_limit))
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

    @workflow.update
    async def complete_task(self, command: CompleteTask) -> dict[str, Any]:
        """Complete a task; returns once its events are in the audit store."""
        events = self._decide(command)
        self._apply(events)
        await self._flush()
        return task_view(self._state, self._state.tasks[command.task_id])

    @complete_task.validator
    def validate_complete_task(self, command: CompleteTask) -> None:
        self._validated = None
        self._validated = (command, self._state.seq, workflow.now().isoformat(), self._decide(command))

    def _decide(self, command: CompleteTask) -> list[Event]:
        cached, self._validated = self._validated, None
        if cached is not None and cached[0] is command and cached[1:3] == (
                self._state.seq, workflow.now().isoformat()):
            return cached[3]
        try:
            return decide(self._state, command, workflow.now())
        except DomainError as error:  # in the handler: the state changed since the validator ran
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

    @workflow.query
    def get_state(self) -> dict[str, Any]:
        return project_view(self._state)

    @workflow.query
    def get_events(self) -> list[Event]:
        """The events this run produced (a run that continued-as-new starts a new list)."""
        return self._events

    def _apply(self, events: list[Event]) -> None:
        if not events:
            return
        before = (self._state.phase, self._state.status)
        self._state = fold(events, self._state)
        self._events += events
        if (self._state.phase, self._state.status) != before:
            workflow.upsert_search_attributes([
                PHASE.value_set(self._state.phase or ""), STATUS.value_set(self._state.status)])

    async def _flush(self) -> None:
        """Write every event not yet stored, in one batch; concurrent callers share the batch."""
        async with self._flush_lock:
            if not self._events or self._events[-1].seq <= self._persisted:
                return
            pending = self._events[self._persisted - self._events[0].seq + 1:]
            touched = dict.fromkeys(e.task_id for e in pending if e.task_id)
            tasks = [{**task_view(self._state, self._state.tasks[t]),
                      "request_id": self._state.tasks[t].request_id} for t in touched]
            await workflow.execute_local_activity(
                RECORD_EVENTS, RecordEvents(project=summary_view(self._state), events=pending, tasks=tasks),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10)),
            )
            self._persisted = pending[-1].seq
