"""Changes to a running project, and a partner's request for more time: every rule they must pass.

What each means for the rest of the project:
- ``extend_deadline``: the task's due date moves later; its reminder, overdue notice and escalation
  come again for the new date.
- ``waive``: the task is ``waived``, which counts as done for whatever opens after it (no review
  of it opens). Decisions are never waived: their outcome decides what comes next.
- ``reassign``: an open partner task moves to another partner of the project, on behalf of the
  first (it still is the first partner's share of the step).
- ``add_partner``: the new partner joins the fan-out of every each-partner step open in the
  current phase (it owes those now) and of every step that opens later.
- ``withdraw_partner``: its open tasks, and the open tasks about it (reviews of its reports), are
  superseded; what waited for them opens when everything else is done; later fan-outs skip it.
  At least one partner stays.
- ``cancel``: every open task is superseded, the project is ``cancelled``, its timers stop.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.checks import check_may_complete, check_org_id, check_task, check_task_open
from domain.errors import Forbidden, InvalidRequest, NotAssigned, NotErasable
from domain.limits import shown, text_problem
from domain.model import (
    Actor,
    ChangeProject,
    ErasePersonalData,
    Event,
    ProjectState,
    RequestExtension,
    TaskState,
    format_time,
    parse_time,
)
from domain.progress import Decision
from domain.template import EXTENSION_STEP

MAX_REASON_CHARS = 2_000
LATEST_DUE = timedelta(days=5 * 366)  # a new due date is at most five years away


def check_may_change(lead: str, actor: Actor) -> None:
    """Changes to a running project: coordinators of the lead organisation (the workflow and the
    application layer both ask)."""
    if actor.role != "coordinator" or actor.org != lead:
        raise Forbidden(f"Only a coordinator of the lead organisation ({lead}) can change this project.")


def check_active(state: ProjectState) -> None:
    if state.status != "active":
        raise InvalidRequest(f"Project {state.id} is {state.status}: it can no longer change.",
                             {"project": "is not active"})


def check_reason(reason: object) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidRequest("A change needs a reason, for the audit trail.", {"reason": "is required"})
    problem = text_problem(reason, MAX_REASON_CHARS)
    if problem:
        raise InvalidRequest(f"The reason {problem}.", {"reason": problem})
    return reason.strip()


def check_open_task(state: ProjectState, task_id: str | None) -> TaskState:
    if not task_id:
        raise InvalidRequest("This change names a task.", {"task_id": "is required"})
    task = check_task(state, task_id)
    check_task_open(task)
    return task


def check_new_due(task: TaskState, due_at: str | None, now: datetime) -> str:
    try:
        due = parse_time(due_at or "")
        formatted = format_time(due)
    except (ValueError, OverflowError):
        raise InvalidRequest(f"'{shown(due_at)}' is not an ISO 8601 moment such as 2027-05-31T17:00:00Z.",
                             {"due_at": "is not a moment"}) from None
    if formatted <= task.due_at:
        raise InvalidRequest(f"The new due date must be later than the current one ({task.due_at}).",
                             {"due_at": "is not later than the current due date"})
    if due > now + LATEST_DUE:
        raise InvalidRequest("A due date is at most five years away.", {"due_at": "is too far away"})
    return formatted


def check_partner_task(state: ProjectState, task: TaskState) -> None:
    if task.assignee not in state.partners:
        raise InvalidRequest(f"Task {task.id} is not a partner's task; only partner tasks move between partners.",
                             {"task_id": "is not a partner's task"})


def check_not_the_counterpart(d: Decision, org: str) -> None:
    """The organisation an org field named for steps still to be done (the partner a person is referred
    to) cannot simply leave: the project would lose its counterpart. Refer to another partner first,
    or cancel the project."""
    for _, step in d.template.steps():
        source = step.named_in
        if source is None or d.template.step(source.step).form_field(source.field).type != "org":
            continue
        if not d.is_done(step.key) and any(entry["org"] == org for _, entry in d.named_entries(step)):
            raise InvalidRequest(f"'{org}' is the organisation this project's {step.key} is for, which is still to "
                                 "be done: it cannot withdraw; refer to another partner first, or cancel the "
                                 "project.", {"org": "is the project's counterpart"})


def decide_change(state: ProjectState, c: ChangeProject, now: datetime) -> list[Event]:
    check_active(state)
    check_may_change(state.lead, c.actor)
    reason = check_reason(c.reason)
    d = Decision(state, now, c.actor)
    if c.kind == "extend_deadline":
        task = check_open_task(state, c.task_id)
        due = check_new_due(task, c.due_at, now)
        d.emit("DeadlineExtended", phase=task.phase, step=task.step, task_id=task.id,
               data={"from": task.due_at, "due_at": due, "reason": reason})
    elif c.kind == "waive":
        task = check_open_task(state, c.task_id)
        if task.kind == "decision":
            raise InvalidRequest(f"Task {task.id} is a decision: decide it (its outcome says what comes next), "
                                 "or cancel the project.", {"task_id": "is a decision"})
        d.emit("StepWaived", phase=task.phase, step=task.step, task_id=task.id, data={"reason": reason})
        d.drop_requests_about(task.id)
        d.advance()
    elif c.kind == "reassign":
        task = check_open_task(state, c.task_id)
        check_partner_task(state, task)
        org = check_org_id(c.org, "org")
        if org not in state.partners or org == task.assignee:
            raise InvalidRequest(f"'{org}' is not another partner of this project.", {"org": "is not another partner"})
        d.emit("TaskReassigned", phase=task.phase, step=task.step, task_id=task.id,
               data={"from": task.assignee, "to": org, "reason": reason})
    elif c.kind == "add_partner":
        org = check_org_id(c.org, "org")
        if org in state.partners or org == state.lead:
            raise InvalidRequest(f"'{org}' is already in this project.", {"org": "is already in the project"})
        d.emit("PartnerAdded", phase=state.phase, data={"org": org, "reason": reason})
        for step in d.phase().steps:  # it owes the each-partner steps open now, in their open occurrences
            if step.assignee == "each_partner":
                for occurrence in sorted({t.occurrence or 0 for t in d.current(step.key) if t.status == "open"}):
                    d.open_task(step, org, occurrence=occurrence or None)
    elif c.kind == "withdraw_partner":
        org = check_org_id(c.org, "org")
        if org not in state.partners:
            raise InvalidRequest(f"'{org}' is not a partner of this project.", {"org": "is not a partner"})
        if len(state.partners) == 1:
            raise InvalidRequest("A project keeps at least one partner: add another before this one withdraws.",
                                 {"org": "is the last partner"})
        check_not_the_counterpart(d, org)
        d.emit("PartnerWithdrawn", phase=state.phase, data={"org": org, "reason": reason})
        d.supersede_open(where=lambda t: t.assignee == org or t.subject_org == org)
        d.advance()
    else:  # cancel
        d.supersede_open()
        d.emit("ProjectCancelled", phase=state.phase, data={"reason": reason})
    return d.events


def check_erasable(state: ProjectState) -> None:
    """A project whose values are sealed; one started before sealing holds them in clear in its chain."""
    assert state.template is not None
    if not state.template.has_personal_fields():
        raise InvalidRequest(f"Project {state.id} holds no personal data: its template has no personal field.",
                             {"project": "has no personal data"})
    if not state.sealed:
        raise not_erasable(state.id)


def not_erasable(project_id: str) -> NotErasable:
    """The refusal to erase a case started before sealing: why, and what to do instead."""
    return NotErasable(
        f"Project {project_id} was started before coopflow sealed personal data: its values are in its audit "
        "trail in clear text, hashed into the chain, so erasing them would break the trail's evidence. They stay "
        "hidden from everyone not involved; record the request, restrict processing, and ask your data-protection "
        "officer (docs/personal-data.md, 'Cases started before sealing').", {"project": "started before sealing"})


def decide_erasure(state: ProjectState, c: ErasePersonalData, now: datetime) -> list[Event]:
    """Erase the project's personal data: its data keys go with this event (the store destroys them in the
    same transaction). A running case is cancelled first: without the person's data it cannot go on.
    Erased already: nothing happens (the first erasure stands)."""
    if c.actor is not None and (c.actor.role != "coordinator" or c.actor.org != state.lead):
        raise Forbidden(f"Only a coordinator of the lead organisation ({state.lead}) can erase this project's "
                        "personal data.")
    check_erasable(state)
    reason = check_reason(c.reason)
    if state.erasure is not None:
        return []
    d = Decision(state, now, c.actor)
    if state.status == "active":
        d.supersede_open()
        d.emit("ProjectCancelled", phase=state.phase, data={"reason": reason})
    d.emit("PersonalDataErased", data={"reason": reason, "values": state.personal_values,
                                       "documents": state.personal_documents})
    return d.events


def decide_extension(state: ProjectState, c: RequestExtension, now: datetime) -> list[Event]:
    check_active(state)
    task = check_open_task(state, c.task_id)
    assert state.template is not None
    check_may_complete(state.partners, task, state.template.step(task.step), c.actor)
    if task.assignee == state.lead:
        raise NotAssigned("The lead organisation's own tasks get more time by a change (extend_deadline), "
                          "not by a request.")
    if task.step == EXTENSION_STEP:
        raise InvalidRequest("A decision on more time cannot itself be given more time this way.")
    due = check_new_due(task, c.due_at, now)
    reason = check_reason(c.reason)
    if any(t.status == "open" and t.subject_task == task.id for t in state.tasks.values()):
        raise InvalidRequest(f"More time for task {task.id} was asked for already; the coordinators decide.",
                             {"task_id": "has a request waiting"})
    d = Decision(state, now, c.actor)
    d.emit("ExtensionRequested", phase=task.phase, step=task.step, task_id=task.id,
           data={"due_at": due, "reason": reason})
    d.open_task(state.template.extension(), state.lead, subject_org=task.slot_org(), occurrence=task.occurrence,
                subject_task=task.id, requested_due=due)
    return d.events
