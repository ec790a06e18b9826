"""How a phase moves on: opening steps, loop-backs, recurrence, phase and project ends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.durations import Duration, parse_duration
from domain.evolve import apply_in_place
from domain.model import Actor, Event, ProjectState, TaskState, chain_hash, format_time, parse_time
from domain.tally import Tally
from domain.template import EXTENSION_STEP, Outcome, Phase, Step, Template
from domain.template_checks import descendants


class Decision:
    """Collects the events of one command, folding each into a private copy of the state."""

    def __init__(self, state: ProjectState, now: datetime, actor: Actor | None) -> None:
        self.state = state.copy_for_change()
        self.now = now
        self.at = format_time(now)
        self.actor = actor
        self.events: list[Event] = []

    @property
    def template(self) -> Template:
        assert self.state.template is not None
        return self.state.template

    def emit(self, type_: str, *, phase: str | None = None, step: str | None = None,
             task_id: str | None = None, data: dict[str, Any] | None = None) -> None:
        s = self.state
        body = {"seq": s.seq + 1, "type": type_, "at": self.at,
                "actor": self.actor.model_dump() if self.actor else None,
                "phase": phase, "step": step, "task_id": task_id, "data": data or {}, "prev_hash": s.head}
        event = Event(**body, hash=chain_hash(s.head, body))
        self.events.append(event)
        apply_in_place(s, event)

    # -- reading the state -------------------------------------------------------------
    def current(self, step: str) -> list[TaskState]:
        """The tasks of the step's current round, the latest per slot, superseded ones left out: of the closed
        ones, those a continued run keeps (``ProjectState.carried``), for the rules that read them."""
        floor = self.state.rounds.get(step, 1)
        latest: dict[tuple[Any, ...], TaskState] = {}
        for t in self.state.tasks.values():
            if t.step == step and t.round >= floor and t.status != "superseded":
                latest[(t.slot_org(), t.subject_org, t.occurrence)] = t
        return list(latest.values())

    @property
    def tally(self) -> Tally:
        assert self.state.tally is not None  # copy_for_change counts it
        return self.state.tally

    def has_current(self, step: str) -> bool:
        """Whether the step has tasks in its current round (open, or completed or waived): ``current`` but for
        the closed tasks, which a continued run no longer holds (``domain/tally.py``)."""
        floor = self.state.rounds.get(step, 1)
        return self.tally.done.get(step, 0) >= floor or self._open_current(step)

    def _open_current(self, step: str) -> bool:
        return self.tally.open_from(step, self.state.rounds.get(step, 1))

    def is_done(self, step: str) -> bool:
        """The step's current round has tasks and none of them is open (a slot's open task is always its latest),
        and no occurrence of it is still to come; or it has nothing to do."""
        if not self.has_current(step):
            return self._nothing_to_do(self.template.step(step))
        return not self._open_current(step) and not any(x.step == step for x in self.state.scheduled)

    def _nothing_to_do(self, step: Step) -> bool:
        """A named step whose source named no one (it was waived, or they left), or a review (``after_each``)
        of a step none of whose tasks was completed by an organisation still in the project (all waived —
        every progress report of an occurrence, say —, or they left): done without a task. Other steps
        always have tasks. (Before waiving and withdrawing existed, a step that was done always had a
        completed task, so this changes nothing for the projects of that time.)"""
        if step.named_in is not None:
            return self.is_done(step.named_in.step) and not self.named_entries(step)
        source = self.template.step(step.after_each) if step.after_each else None
        if source is None:
            return False
        members = {self.state.lead, *self.state.partners}
        floor = self.state.rounds.get(source.key, 1)
        return self.is_done(source.key) and not any(
            org in members and round_ >= floor for org, round_ in self.tally.completed_by.get(source.key, {}).items())

    def named_entries(self, step: Step) -> list[tuple[int, dict[str, str]]]:
        """Whom a named step goes to: the numbered entries of the field it is named in, in the source step's
        latest completion (an ``org`` field: one entry without a title), but those of organisations no
        longer in the project (withdrawn since)."""
        assert step.named_in is not None
        done = [t for t in self.current(step.named_in.step) if t.status == "completed"]
        value = done[-1].data.get(step.named_in.field) if done else None
        entries = [{"org": value}] if isinstance(value, str) else list(value or [])
        members = {self.state.lead, *self.state.partners}
        return [(number, entry) for number, entry in enumerate(entries, start=1) if entry["org"] in members]

    # -- changing it -------------------------------------------------------------------
    def open_task(self, step: Step, assignee: str, *, round_: int | None = None,
                  subject_org: str | None = None, occurrence: int | None = None, **more: Any) -> None:
        """Open one task; ``more`` (a decision on more time: ``subject_task``, ``requested_due``; a named
        step's entry: ``item``, whose due date, if still ahead, is the task's) goes into the event only
        when given, so that the events of earlier versions stay as they were."""
        s = self.state
        due = parse_duration(step.due).after(self.now)
        item_due = (more.get("item") or {}).get("due")
        if item_due and parse_time(f"{item_due}T23:59:59Z") > self.now:  # its own due date, while still ahead
            due = parse_time(f"{item_due}T23:59:59Z")
        self.emit("StepOpened", phase=s.phase, step=step.key, task_id=f"t{self.tally.opened + 1}", data={
            "kind": step.kind, "assignee": assignee, "subject_org": subject_org,
            "round": round_ if round_ is not None else s.rounds.get(step.key, 1),
            "occurrence": occurrence, "due_at": format_time(due), **more})

    def assignees(self, step: Step) -> list[str]:
        s = self.state
        return {"coordinator": [s.lead], "each_partner": list(s.partners),
                "any_partner": ["any_partner"], "auditor": ["auditor"]}[step.assignee]

    def open_step(self, step: Step, occurrence: int | None = None) -> None:
        if step.named_in is not None:
            for number, entry in self.named_entries(step):
                if "title" in entry:  # one task per entry: its number, its entry
                    self.open_task(step, entry["org"], occurrence=number, item=entry)
                else:
                    self.open_task(step, entry["org"])
            return
        if step.recurrence is not None and occurrence is None:
            occurrence = 1
            count, every = self.recurrence(step)
            for k in range(2, count + 1):
                self.emit("OccurrenceScheduled", phase=self.state.phase, step=step.key, data={
                    "occurrence": k, "opens_at": format_time(every.times(k - 1).after(self.now))})
        for org in self.assignees(step):
            self.open_task(step, org, occurrence=occurrence)

    def recurrence(self, step: Step) -> tuple[int, Duration]:
        assert step.recurrence is not None
        params = self.state.parameters

        def value(v: int | str) -> Any:
            return params[v[1:]] if isinstance(v, str) and v.startswith("$") else v

        return int(value(step.recurrence.count)), parse_duration(str(value(step.recurrence.every)))

    def phase(self) -> Phase:
        return self.template.phase(self.state.phase or "")

    def advance(self) -> None:
        """Open every step whose predecessors are done; end the phase when all steps are."""
        while self.state.status == "active":
            phase = self.phase()
            ready = [st for st in phase.steps if st.after_each is None and not self.has_current(st.key)
                     and all(self.is_done(dep) for dep in st.after)
                     and (st.named_in is None or self.named_entries(st))]
            for step in ready:
                self.open_step(step)
            if not ready:
                break
        if self.state.status == "active" and all(self.is_done(st.key) for st in self.phase().steps):
            self.complete_phase()

    def supersede_open(self, steps: set[str] | None = None, *, where: Any = None) -> None:
        """Supersede the open tasks of ``steps`` (all steps: None) that ``where`` picks (all: None), and the
        decisions on more time that those tasks asked for."""
        gone = set()
        for t in list(self.state.tasks.values()):
            if t.status == "open" and (steps is None or t.step in steps) and (where is None or where(t)):
                self.emit("StepSuperseded", phase=t.phase, step=t.step, task_id=t.id)
                gone.add(t.id)
        for t in list(self.state.tasks.values()):
            if t.status == "open" and t.subject_task in gone:
                self.emit("StepSuperseded", phase=t.phase, step=t.step, task_id=t.id)

    def complete_phase(self) -> None:
        phase = self.phase()
        self.supersede_open({st.key for st in phase.steps} | {EXTENSION_STEP})
        self.emit("PhaseCompleted", phase=phase.key)
        following = self.template.next_phase(phase.key)
        if following is None:
            self.emit("ProjectEnded", data={"status": "completed"})
            return
        self.emit("PhaseStarted", phase=following.key)
        self.advance()

    def end_project(self, status: str) -> None:
        self.supersede_open()
        self.emit("ProjectEnded", phase=self.state.phase, data={"status": status})

    def drop_requests_about(self, task_id: str) -> None:
        """A task done (or waived) needs no more time: a decision still waiting on that is superseded."""
        self.supersede_open({EXTENSION_STEP}, where=lambda t: t.subject_task == task_id)

    def follow_completion(self, task: TaskState, outcome: Outcome | None) -> None:
        """What a completed task sets in motion: reviews of it, then its outcome's effect."""
        if task.step == EXTENSION_STEP:
            return self.follow_extension(task, outcome)
        self.drop_requests_about(task.id)
        phase = self.phase()
        for step in phase.steps:
            if step.after_each == task.step:
                self.open_task(step, self.assignees(step)[0], round_=task.round,
                               subject_org=task.slot_org(), occurrence=task.occurrence)
        then = outcome.then if outcome else "continue"
        if then == "next_phase":
            return self.complete_phase()
        if then == "end_project":
            assert outcome is not None and outcome.status is not None
            return self.end_project(outcome.status)
        if then == "reopen":
            assert outcome is not None and outcome.step is not None
            steps = {outcome.step} | descendants(phase, outcome.step)
            self.supersede_open(steps)
            self.loop_back(outcome.name, steps)
        elif then == "reopen_subject":
            self.reopen_subject(task)
        elif then == "extend":
            assert outcome is not None and outcome.step is not None
            self.loop_back(outcome.name, {task.step})
            step = self.template.step(outcome.step)
            self.open_step(step, occurrence=self.tally.occurrences.get(step.key, 0) + 1)
        self.advance()

    def follow_extension(self, decision: TaskState, outcome: Outcome | None) -> None:
        """More time granted: the asking task's due date moves (if it is still open)."""
        asking = self.state.tasks.get(decision.subject_task or "")
        if outcome is not None and outcome.name == "grant" and asking is not None and asking.status == "open" \
                and decision.requested_due is not None and decision.requested_due > asking.due_at:
            self.emit("DeadlineExtended", phase=asking.phase, step=asking.step, task_id=asking.id, data={
                "from": asking.due_at, "due_at": decision.requested_due, "decision": decision.id})

    def loop_back(self, outcome: str, steps: set[str]) -> None:
        rounds = {k: self.tally.rounds.get(k, 0) + 1 for k in sorted(steps)}
        self.emit("LoopedBack", phase=self.state.phase, data={"outcome": outcome, "rounds": rounds})

    def reopen_subject(self, review: TaskState) -> None:
        source = self.template.step(self.template.step(review.step).after_each or "")
        subject = [t for t in self.current(source.key)
                   if t.slot_org() == review.subject_org and t.occurrence == review.occurrence]
        last_round = max((t.round for t in subject), default=review.round)
        item = subject[-1].item if subject else None
        more: dict[str, Any] = {"item": item} if item else {}  # a named step's task keeps its entry
        self.open_task(source, review.subject_org or "", round_=last_round + 1, occurrence=review.occurrence, **more)
