"""``ProjectWorkflow``: one durable workflow per project, folding domain events.

It decides with the pure domain, folds the events into its state and hands them to
``StoreWrites`` (``workflows/writes.py``, which says how and why they reach the store).
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import (
        ChangeProject,
        CompleteTask,
        DomainError,
        ErasePersonalData,
        Event,
        HoldTask,
        ProjectState,
        RequestExtension,
        Tick,
        decide,
        fold,
        next_wake,
        parse_time,
        project_view,
        started_state,
        summary_view,
        task_view,
    )
    from domain.personal import RETENTION_REASON, retention_ends
    from workflows.inputs import ANSWERED_KEPT, KEYED_UPDATE, PHASE, STATUS, ProjectInput
    from workflows.templates import by_reference, carried_in, resolved
    from workflows.writes import StoreWrites

UserCommand = CompleteTask | ChangeProject | RequestExtension | ErasePersonalData | HoldTask  # what updates decide


def _rejection(error: DomainError) -> ApplicationError:
    return ApplicationError(error.message, error.details, type=error.code, non_retryable=True)


@workflow.defn
class ProjectWorkflow:
    @workflow.init
    def __init__(self, input: ProjectInput) -> None:
        self._state = carried_in(input.state) if input.state is not None else ProjectState()
        self._history_limit = input.history_limit
        self._write_timeout = input.write_timeout
        self._events: list[Event] = []  # this run's events; the store keeps them all
        # a run whose input names its template by reference was begun by v1.3 or later: it behaves as every
        # earlier patch says without asking ``workflow.patched``, which costs the server a search-attribute
        # upsert per patch and run (about 5 ms each); histories of earlier runs never hold such an input
        self._by_reference = by_reference(input.start if input.start is not None else input.state)
        self._writes = StoreWrites(self._state.seq, input.write_timeout, by_activity=self._by_reference or None)
        self._wake_at: str | None = None
        self._wake_only_earlier = False
        self._validated: tuple[Any, int, Any, list[Event]] | None = None
        self._wake: tuple[int, str | None] = (-1, None)  # next_wake of the state at that seq
        # Temporal deduplicates an update id within a run only: a change repeated with its Idempotency-Key
        # after continue-as-new is recognised by these (the last ANSWERED of them) and answered, not decided again
        self._answered = list(input.answered)

    @workflow.run
    async def run(self, input: ProjectInput) -> str:
        if input.start is not None and self._state.status == "new":
            start = resolved(input.start)
            if start.digest_in_first_event:  # its first event names the template by digest: the state holds it
                self._state = started_state(start.template)
            try:
                self._apply(decide(self._state, start, workflow.now()))
            except DomainError as error:
                raise _rejection(error) from None
        await self._writes.flush()
        # Since v1.1 the deadline timer is restarted only for an earlier deadline, not for every
        # completion; a timer that fires with nothing due just ticks with no events.
        self._wake_only_earlier = self._by_reference or workflow.patched("wake-only-earlier")
        while self._state.status == "active" and not self._should_continue_as_new():
            self._wake_at = self._next_wake()
            timeout = None
            if self._wake_at is not None:
                timeout = max((parse_time(self._wake_at) - workflow.now()).total_seconds(), 0.001)
            try:
                await workflow.wait_condition(self._must_wake, timeout=timeout)
            except TimeoutError:
                assert self._wake_at is not None
                now = max(workflow.now(), parse_time(self._wake_at))
                self._apply(decide(self._state, Tick(), now))
                await self._writes.flush()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._writes.flush()
        if self._state.status == "active":
            # since v1.3 a continued run carries its open tasks, a tally and the template's reference (it
            # stays small however many tasks close); earlier runs carried every task and the template
            carried = (self._state.carried() if self._by_reference or workflow.patched("carry-open-tasks")
                       else self._state.compacted())
            workflow.continue_as_new(ProjectInput(state=carried, history_limit=self._history_limit,
                                                  write_timeout=self._write_timeout, answered=self._answered))
        await self._keep_personal_data()
        return self._state.status

    async def _keep_personal_data(self) -> None:
        """An ended project whose personal data is sealed waits for its erasure: a coordinator's, or the
        system's when the template's retention period has passed (a durable timer). Projects started
        before sealing, and those without personal data, end at once as they always did."""
        while self._state.sealed and self._state.erasure is None:
            ends = retention_ends(self._state)
            timeout = None if ends is None else max((parse_time(ends) - workflow.now()).total_seconds(), 0.001)
            try:
                await workflow.wait_condition(lambda: self._state.erasure is not None, timeout=timeout)
            except TimeoutError:
                assert ends is not None
                now = max(workflow.now(), parse_time(ends))
                self._apply(decide(self._state, ErasePersonalData(actor=None, reason=RETENTION_REASON), now))
                await self._writes.flush()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._writes.flush()

    def _must_wake(self) -> bool:
        if self._state.status != "active" or self._should_continue_as_new():
            return True
        wake = self._next_wake()
        if self._wake_only_earlier:
            return wake is not None and (self._wake_at is None or wake < self._wake_at)
        return wake != self._wake_at

    def _next_wake(self) -> str | None:
        """``next_wake`` of the state, computed once per seq: the wait condition asks on every activation,
        and only an event changes the state."""
        if self._wake[0] != self._state.seq:
            self._wake = (self._state.seq, next_wake(self._state))
        return self._wake[1]

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        if info.is_continue_as_new_suggested():
            return True
        return self._history_limit is not None and info.get_current_history_length() > self._history_limit

    # -- what users do ----------------------------------------------------------------------
    @workflow.update
    async def complete_task(self, command: CompleteTask) -> dict[str, Any]:
        """Complete a task; returns once its events are in the audit store."""
        events = self._decide(command)
        self._apply(events)
        await self._writes.flush()
        return task_view(self._state, self._state.tasks[command.task_id])

    @complete_task.validator
    def validate_complete_task(self, command: CompleteTask) -> None:
        self._validate(command)

    @workflow.update
    async def hold_task(self, command: HoldTask) -> dict[str, Any]:
        """Say who of the owing organisation holds a task; returns the task once the hand-over is stored."""
        self._apply(self._decide(command))
        await self._writes.flush()
        return task_view(self._state, self._state.tasks[command.task_id])

    @hold_task.validator
    def validate_hold_task(self, command: HoldTask) -> None:
        self._validate(command)

    @workflow.update
    async def change_project(self, command: ChangeProject) -> dict[str, Any]:
        """A coordinator's change: extend a deadline, waive, reassign, add or withdraw a partner, cancel."""
        if not self._repeated():
            self._apply(self._decide(command))
            self._answer_once()
        await self._writes.flush()
        return summary_view(self._state)

    @change_project.validator
    def validate_change_project(self, command: ChangeProject) -> None:
        if not self._repeated():
            self._validate(command)

    @workflow.update
    async def request_extension(self, command: RequestExtension) -> dict[str, Any]:
        """A partner asks for more time: a decision for the lead's coordinators opens."""
        if not self._repeated():
            self._apply(self._decide(command))
            self._answer_once()
        await self._writes.flush()
        return summary_view(self._state)

    @request_extension.validator
    def validate_request_extension(self, command: RequestExtension) -> None:
        if not self._repeated():
            self._validate(command)

    def _repeated(self) -> bool:
        """This update is a keyed change answered in an earlier run (its id is that of the first request)."""
        info = workflow.current_update_info()
        return info is not None and info.id in self._answered

    def _answer_once(self) -> None:
        """Note a keyed change as answered (ids without a key are random, and never repeated)."""
        info = workflow.current_update_info()
        if info is not None and KEYED_UPDATE.fullmatch(info.id):
            self._answered = [*self._answered, info.id][-ANSWERED_KEPT:]

    @workflow.update
    async def erase_personal_data(self, command: ErasePersonalData) -> dict[str, Any]:
        """Erase the project's personal data (a running case is cancelled first); returns the project once
        the erasure is in the store. Erased already: the project as it is, with the first erasure."""
        self._apply(self._decide(command))
        await self._writes.flush()
        return summary_view(self._state)

    @erase_personal_data.validator
    def validate_erase_personal_data(self, command: ErasePersonalData) -> None:
        self._validate(command)

    def _validate(self, command: UserCommand) -> None:
        """Refuse before anything reaches the history: wrong person, closed task, bad data, paused project."""
        self._writes.check_not_paused()
        self._validated = None
        try:
            self._validated = (command, self._state.seq, workflow.now(), decide(self._state, command, workflow.now()))
        except DomainError as error:
            raise _rejection(error) from None

    def _decide(self, command: UserCommand) -> list[Event]:
        """The handler's decision: the validator's, when nothing changed in between (same command, state
        and time, so ``decide`` would return the very same events); decided afresh otherwise, and on
        replay, where validators do not run."""
        cached, self._validated = self._validated, None
        if cached is not None and cached[1:3] == (self._state.seq, workflow.now()) and cached[0] == command:
            return cached[3]
        try:
            return decide(self._state, command, workflow.now())
        except DomainError as error:  # the state changed since the validator ran
            raise _rejection(error) from None

    @workflow.update
    async def sync(self) -> dict[str, Any]:
        """Returns the project once all that is due by now has happened and is in the store.

        Starting a project calls it (update-with-start), so the caller reads its own write.
        """
        await workflow.wait_condition(lambda: self._state.status != "new" and not self._tick_due())
        await self._writes.flush()
        return project_view(self._state)

    def _tick_due(self) -> bool:
        wake = self._next_wake()
        return wake is not None and parse_time(wake) <= workflow.now()

    # -- what operators do ------------------------------------------------------------------
    @workflow.update
    async def retry_writes(self) -> dict[str, Any]:
        """Try the write the store refused once more (after the store was mended); returns the outcome."""
        await self._writes.retry()
        return self.get_progress()

    @retry_writes.validator
    def validate_retry_writes(self) -> None:
        if self._writes.incident is None:
            raise ApplicationError("This project has no incident: every event it holds is in the store.",
                                   type="invalid_request", non_retryable=True)

    # -- reads ------------------------------------------------------------------------------
    @workflow.query
    def get_state(self) -> dict[str, Any]:
        """The state this run holds (after continue-as-new, tasks closed in earlier runs are in the store only)."""
        return project_view(self._state)

    @workflow.query
    def get_events(self) -> list[Event]:
        """The events this run produced (a run that continued-as-new starts a new list)."""
        return self._events

    @workflow.query
    def get_progress(self) -> dict[str, Any]:
        """How far the workflow's events reach, how far the store has them, and any incident."""
        return {"seq": self._state.seq, "head": self._state.head, "written": self._writes.written,
                "incident": self._writes.incident}

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
        self._writes.add(events, summary_view(self._state), tasks)
        if (self._state.phase, self._state.status) != before:
            wanted = [PHASE.value_set(self._state.phase or ""), STATUS.value_set(self._state.status)]
            held = workflow.info().typed_search_attributes
            # since v1.3 values the workflow holds already (those its start set) are not written again
            if not self._by_reference or any(held.get(u.key) != u.value for u in wanted):
                workflow.upsert_search_attributes(wanted)
