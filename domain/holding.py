"""Who of the owing organisation holds a task: taking it, handing it to a colleague, a coordinator's assignment.

A task is owed by an organisation (``assignee``); inside it one person may hold it. ``TaskHeld`` records each
hand-over in the trail with opaque user ids only (``holder``: who holds it now, ``from``: who held it before,
``None`` for nobody); who made it is the event's actor (none: the system freed the task of a person who left).
"""

from __future__ import annotations

from datetime import datetime

from domain.checks import check_may_complete, check_task
from domain.errors import InvalidRequest, NotAssigned, TaskClosed
from domain.model import Actor, Event, HoldTask, ProjectState, TaskState
from domain.progress import Decision
from domain.template import Step

USER_REMOVED = "user_removed"  # the ``cause`` of a task freed because its holder left the organisation


def may_do(state: ProjectState, task: TaskState, step: Step, person: Actor) -> bool:
    """The person may complete the task: one of its organisation (with the role its step needs)."""
    try:
        check_may_complete(state.partners, task, step, person)
    except NotAssigned:
        return False
    return True


def check_may_hold(state: ProjectState, task: TaskState, step: Step, actor: Actor, holder: Actor | None) -> None:
    """A person of the owing organisation takes the task or hands it to a colleague; the lead's coordinators
    assign it to anyone of the organisation that owes it. The one who is to hold it must be able to do it."""
    member = may_do(state, task, step, actor)
    assigns = actor.role == "coordinator" and actor.org == state.lead
    if not member and not assigns:
        owner = "the auditors" if task.assignee == "auditor" else f"organisation '{task.assignee}'"
        raise NotAssigned(f"Task {task.id} ({task.step}) is owed by {owner}: only its people, or the lead's "
                          "coordinators, say who holds it.")
    if holder is None:
        return
    colleague = assigns or holder.org == actor.org or task.assignee == "auditor"
    if not colleague or not may_do(state, task, step, holder):
        raise InvalidRequest(f"That person cannot hold task {task.id} ({task.step}): a task is held by a person "
                             "of the organisation that owes it (with the role its step needs).",
                             {"user": "is not a person of the organisation that owes the task"})


def decide_hold(state: ProjectState, c: HoldTask, now: datetime) -> list[Event]:
    task = check_task(state, c.task_id)
    if task.status != "open":
        raise TaskClosed(f"Task {task.id} ({task.step}) is {task.status}: nobody can take it any more.")
    assert state.template is not None
    d = Decision(state, now, c.actor)
    if c.actor is None:  # the system frees the task of a person who left, if they still hold it
        if c.holder is not None or c.release_of is None or task.held_by != c.release_of:
            return []
        d.emit("TaskHeld", phase=task.phase, step=task.step, task_id=task.id,
               data={"holder": None, "from": task.held_by, "cause": USER_REMOVED})
        return d.events
    check_may_hold(state, task, state.template.step(task.step), c.actor, c.holder)
    holder = c.holder.user if c.holder is not None else None
    if holder == task.held_by:
        return []  # as it is already: nothing to record
    d.emit("TaskHeld", phase=task.phase, step=task.step, task_id=task.id, data={"holder": holder, "from": task.held_by})
    return d.events
