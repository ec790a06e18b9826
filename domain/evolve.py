"""``evolve(state, event) -> state``: the one fold used by the workflow and by time travel."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from domain.model import Event, ProjectState, Scheduled, TaskState
from domain.personal import erased, sealed_values
from domain.tally import Tally, TemplateRef
from domain.template import Template


def evolve(state: ProjectState, event: Event) -> ProjectState:
    """Return the state after ``event``; ``state`` itself is left as it was."""
    new = state.copy_for_change()
    apply_in_place(new, event)
    return new


def fold(events: Iterable[Event], state: ProjectState | None = None) -> ProjectState:
    """Fold ``events`` onto ``state`` (or onto a new project). A trail whose first event names its template by
    digest (``template_ref``) is folded onto ``started_state(template)``: the pinned template, found by the caller
    (the store's copy, the worker's registry)."""
    new = state.copy_for_change() if state is not None else ProjectState()
    for event in events:
        apply_in_place(new, event)
    return new


def started_state(template: Template | None) -> ProjectState:
    """A new project that knows its template before its first event: what a trail that names its template by
    digest is folded onto (an older trail's first event holds the template, and sets it again)."""
    return ProjectState(template=template)


def apply_in_place(s: ProjectState, e: Event) -> None:
    """Apply one event to a state whose containers the caller owns (see ``copy_for_change``)."""
    handler = _HANDLERS.get(e.type)
    if handler is not None:
        handler(s, e)
    s.seq, s.head, s.updated_at = e.seq, e.hash, e.at


def _tally(s: ProjectState) -> Tally:
    if s.tally is None:
        s.tally = Tally.of_tasks(s.tasks.values())
    return s.tally


def _started(s: ProjectState, e: Event) -> None:
    d = e.data
    s.id, s.title, s.lead = d["project_id"], d["title"], d["lead"]
    s.partners, s.parameters = list(d["partners"]), dict(d["parameters"])
    if "template" in d:  # the whole template in the first event (projects started before digests)
        s.template = Template.model_validate(d["template"])
    else:  # by id, version and digest: the template is the one the fold began with (``started_state``)
        s.template_ref = TemplateRef.model_validate(d["template_ref"])
        held = s.template
        if held is not None and (held.id, held.version) != (s.template_ref.id, s.template_ref.version):
            raise ValueError(f"Project {s.id} started with template {s.template_ref.id} version "
                             f"{s.template_ref.version}, not with {held.id} version {held.version}.")
    s.status, s.started_at = "active", e.at
    s.sealed = bool(d.get("sealed"))


def _phase_started(s: ProjectState, e: Event) -> None:
    s.phase = e.phase


def _opened(s: ProjectState, e: Event) -> None:
    d = e.data
    assert e.task_id and e.phase and e.step
    _tally(s).count_opened(e.step, d["round"], d.get("occurrence"))  # counted before the task is in
    s.tasks[e.task_id] = TaskState(
        id=e.task_id, phase=e.phase, step=e.step, kind=d["kind"], assignee=d["assignee"],
        subject_org=d.get("subject_org"), round=d["round"], occurrence=d.get("occurrence"),
        opened_at=e.at, due_at=d["due_at"], subject_task=d.get("subject_task"), requested_due=d.get("requested_due"),
        item=d.get("item"),
    )
    s.scheduled = [x for x in s.scheduled if (x.step, x.occurrence) != (e.step, d.get("occurrence"))]


def _scheduled(s: ProjectState, e: Event) -> None:
    assert e.step
    s.scheduled.append(Scheduled(step=e.step, occurrence=e.data["occurrence"], at=e.data["opens_at"]))


def _replace_task(s: ProjectState, e: Event, **changes: Any) -> None:
    assert e.task_id
    s.tasks[e.task_id] = s.tasks[e.task_id].model_copy(update=changes)


def _closed(s: ProjectState, e: Event, status: str) -> None:
    assert e.task_id
    task = s.tasks[e.task_id]
    _tally(s).count_closed(task.step, task.round, status, task.slot_org())


def _completed(s: ProjectState, e: Event) -> None:
    form = e.data.get("form", {})
    _closed(s, e, "completed")
    _replace_task(s, e, status="completed", closed_at=e.at, actor=e.actor, data=form,
                  outcome=e.data.get("outcome"), comment=e.data.get("comment"),
                  request_id=e.data.get("request_id"))
    if s.sealed and s.template is not None and e.step:
        values, documents = sealed_values(s.template.step(e.step), form)
        s.personal_values, s.personal_documents = s.personal_values + values, s.personal_documents + documents


def _superseded(s: ProjectState, e: Event) -> None:
    _closed(s, e, "superseded")
    _replace_task(s, e, status="superseded", closed_at=e.at)


def _waived(s: ProjectState, e: Event) -> None:
    _closed(s, e, "waived")
    _replace_task(s, e, status="waived", closed_at=e.at)


def _deadline_missed(s: ProjectState, e: Event) -> None:
    _replace_task(s, e, deadline_missed=True)


def _looped_back(s: ProjectState, e: Event) -> None:
    s.rounds.update(e.data["rounds"])


def _phase_completed(s: ProjectState, e: Event) -> None:
    s.scheduled = [x for x in s.scheduled if s.template is None or x.step not in
                   {st.key for st in s.template.phase(e.phase or "").steps}]


def _ended(s: ProjectState, e: Event) -> None:
    s.status, s.scheduled, s.ended_at = e.data["status"], [], e.at


def _cancelled(s: ProjectState, e: Event) -> None:
    s.status, s.scheduled, s.ended_at = "cancelled", [], e.at


def _personal_data_erased(s: ProjectState, e: Event) -> None:
    """The data keys are destroyed: every sealed value reads None from now on, and says it was erased."""
    s.erasure = {"erased_at": e.at, "erased_by": {"org": e.actor.org, "role": e.actor.role} if e.actor else
                 {"org": None, "role": "system"}, "reason": e.data["reason"]}
    assert s.template is not None
    for key, task in list(s.tasks.items()):
        if task.data and s.template.has_personal_fields():
            data, gone = erased(s.template.step(task.step), task.data)
            if gone:
                s.tasks[key] = task.model_copy(update={"data": data, "erased_fields": gone})


def _reminded(s: ProjectState, e: Event) -> None:
    _replace_task(s, e, reminded=True)


def _escalated(s: ProjectState, e: Event) -> None:
    _replace_task(s, e, escalated=True)


def _extended(s: ProjectState, e: Event) -> None:
    # a later deadline is a fresh one: reminded, missed and escalated again when it comes
    _replace_task(s, e, due_at=e.data["due_at"], deadline_missed=False, reminded=False, escalated=False)


def _reassigned(s: ProjectState, e: Event) -> None:
    assert e.task_id
    task = s.tasks[e.task_id]
    # a person of the partner it left can no longer hold it
    _replace_task(s, e, assignee=e.data["to"], on_behalf_of=task.on_behalf_of or e.data["from"], held_by=None)


def _held(s: ProjectState, e: Event) -> None:
    _replace_task(s, e, held_by=e.data["holder"])


def _partner_added(s: ProjectState, e: Event) -> None:
    s.partners = [*s.partners, e.data["org"]]


def _partner_withdrawn(s: ProjectState, e: Event) -> None:
    s.partners = [p for p in s.partners if p != e.data["org"]]


def _no_change(s: ProjectState, e: Event) -> None:
    """An event that is a record (a request, a note), with no effect on the state but its place in the chain."""


_HANDLERS: dict[str, Callable[[ProjectState, Event], None]] = {
    "ProjectStarted": _started,
    "PhaseStarted": _phase_started,
    "StepOpened": _opened,
    "OccurrenceScheduled": _scheduled,
    "StepCompleted": _completed,
    "DecisionRecorded": _completed,
    "DeadlineMissed": _deadline_missed,
    "StepSuperseded": _superseded,
    "StepWaived": _waived,
    "LoopedBack": _looped_back,
    "PhaseCompleted": _phase_completed,
    "ProjectEnded": _ended,
    "ProjectCancelled": _cancelled,
    "ReminderSent": _reminded,
    "Escalated": _escalated,
    "DeadlineExtended": _extended,
    "TaskReassigned": _reassigned,
    "PartnerAdded": _partner_added,
    "PartnerWithdrawn": _partner_withdrawn,
    "ExtensionRequested": _no_change,
    "PersonalDataErased": _personal_data_erased,
    "TaskHeld": _held,
}

EVENT_TYPES: tuple[str, ...] = (*_HANDLERS, )  # every event type a project's trail may hold
