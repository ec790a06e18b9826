"""``decide(state, command, now) -> [events]``: which events a command causes (its rules: ``checks.py``)."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from domain.changes import decide_change, decide_erasure, decide_extension
from domain.checks import (
    check_completion,
    check_named_orgs,
    check_parameters,
    check_partners,
    check_storable,
    check_task,
    is_repeat,
)
from domain.durations import parse_duration
from domain.errors import InvalidRequest
from domain.holding import decide_hold
from domain.limits import (
    MAX_TITLE_CHARS,
)
from domain.model import (
    ChangeProject,
    Command,
    CompleteTask,
    ErasePersonalData,
    Event,
    HoldTask,
    ProjectState,
    RequestExtension,
    StartProject,
    TaskState,
    Tick,
    format_time,
    parse_time,
)
from domain.progress import Decision
from domain.tally import template_digest


def decide(state: ProjectState, command: Command, now: datetime) -> list[Event]:
    """The events ``command`` causes at ``now``; raises a ``DomainError`` if it may not happen."""
    if isinstance(command, StartProject):
        return _start(state, command, now)
    if isinstance(command, CompleteTask):
        return _complete(state, command, now)
    if isinstance(command, Tick):
        return _tick(state, now)
    if isinstance(command, ChangeProject):
        return decide_change(state, command, now)
    if isinstance(command, RequestExtension):
        return decide_extension(state, command, now)
    if isinstance(command, ErasePersonalData):
        return decide_erasure(state, command, now)
    if isinstance(command, HoldTask):
        return decide_hold(state, command, now)
    raise InvalidRequest(f"Unknown command {command!r}.")


def _start(state: ProjectState, c: StartProject, now: datetime) -> list[Event]:
    if state.status != "new":
        raise InvalidRequest(f"Project {state.id} has already been started.")
    if c.template is None:
        raise InvalidRequest("A project starts from a template.", {"template": "is required"})
    if c.actor.role != "coordinator" or c.actor.org != c.lead:
        raise InvalidRequest("Only a coordinator of the lead organisation can start a project.")
    if not c.title.strip():
        raise InvalidRequest("A project needs a title.", {"title": "is required"})
    check_storable("title", c.title, MAX_TITLE_CHARS, InvalidRequest)
    check_partners(c.lead, c.partners)
    parameters = check_parameters(c.template, c.parameters)
    text = c.template.model_dump(mode="json")
    if c.digest_in_first_event:  # the template by reference: its text is kept once, by digest, in the store
        pinned: dict[str, Any] = {"template_ref": {"id": c.template.id, "version": c.template.version,
                                                   "digest": template_digest(text)}}
        d = Decision(state.model_copy(update={"template": c.template}), now, c.actor)
    else:  # as before: the whole template in the first event
        pinned, d = {"template": text}, Decision(state, now, c.actor)
    d.emit("ProjectStarted", data={
        "project_id": c.project_id, "title": c.title.strip(), "lead": c.lead, "partners": c.partners,
        "parameters": parameters, **pinned,
        # since sealing: whether its personal values are sealed (left out as before when they are not)
        **({"sealed": True} if c.sealed and c.template.has_personal_fields() else {})})
    first = c.template.phases[0].key
    d.emit("PhaseStarted", phase=first)
    d.advance()
    return d.events


def _complete(state: ProjectState, c: CompleteTask, now: datetime) -> list[Event]:
    task = check_task(state, c.task_id)
    if is_repeat(task, c):
        return []  # a retry of the request that completed it: nothing new happens
    assert state.template is not None
    step = state.template.step(task.step)
    body = check_completion(state.partners, task, step, c, sealed=state.sealed, now=now)
    check_named_orgs(state, step, body["form"], now)
    d = Decision(state, now, c.actor)
    d.emit("DecisionRecorded" if step.kind == "decision" else "StepCompleted",
           phase=task.phase, step=task.step, task_id=task.id, data=body)
    d.follow_completion(d.state.tasks[task.id], step.outcome(c.outcome) if c.outcome else None)
    return d.events


def _tick(state: ProjectState, now: datetime) -> list[Event]:
    if state.status != "active":
        return []
    d = Decision(state, now, None)
    at = format_time(now)
    for sched in sorted(state.scheduled, key=lambda x: (x.at, x.occurrence)):
        if sched.at <= at:
            d.open_step(d.template.step(sched.step), occurrence=sched.occurrence)
    for task in list(d.state.tasks.values()):
        if task.status != "open":
            continue
        remind, escalate = _reminder_at(state, task), _escalation_at(state, task)
        if remind is not None and remind <= at:
            d.emit("ReminderSent", phase=task.phase, step=task.step, task_id=task.id,
                   data={"due_at": task.due_at, "assignee": task.assignee})
        if not task.deadline_missed and task.due_at <= at:
            d.emit("DeadlineMissed", phase=task.phase, step=task.step, task_id=task.id,
                   data={"due_at": task.due_at, "assignee": task.assignee})
        if escalate is not None and escalate <= at:
            d.emit("Escalated", phase=task.phase, step=task.step, task_id=task.id,
                   data={"due_at": task.due_at, "assignee": task.assignee, "lead": state.lead})
    return d.events


def _reminder_at(state: ProjectState, task: TaskState) -> str | None:
    """When the task's reminder is due: ``remind_before`` its due date, if it opened before then."""
    template = state.template
    if template is None or template.remind_before is None or task.reminded or task.deadline_missed:
        return None
    moment = _shifted(task.due_at, template.remind_before, -1)
    return moment if moment > task.opened_at else None


def _escalation_at(state: ProjectState, task: TaskState) -> str | None:
    """When the lead's coordinators are told: ``escalate_after`` past the due date, if still open then."""
    template = state.template
    if template is None or template.escalate_after is None or task.escalated or task.assignee == state.lead:
        return None
    return _shifted(task.due_at, template.escalate_after, 1)


@functools.lru_cache(maxsize=4096)
def _shifted(moment: str, duration: str, sign: int) -> str:
    """``duration`` after (sign 1) or before (-1) ``moment``: asked of every open task each time a project
    looks for its next wake-up, for the same few due dates."""
    shift = parse_duration(duration)
    return format_time(shift.after(parse_time(moment)) if sign > 0 else shift.before(parse_time(moment)))


def next_wake(state: ProjectState) -> str | None:
    """The earliest moment at which a ``Tick`` would change something, if any."""
    if state.status != "active":
        return None
    moments = [x.at for x in state.scheduled]
    for t in state.tasks.values():
        if t.status == "open":
            moments += [m for m in (None if t.deadline_missed else t.due_at, _reminder_at(state, t),
                                    _escalation_at(state, t)) if m is not None]
    return min(moments, default=None)
