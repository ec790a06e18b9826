"""Actors, the project state, domain events and commands."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from domain.tally import Tally, TemplateRef, template_digest
from domain.template import Template

Role = Literal["coordinator", "partner", "auditor"]
TaskStatus = Literal["open", "completed", "waived", "superseded"]
ProjectStatus = Literal["new", "active", "completed", "rejected", "cancelled"]
ZERO_HASH = "0" * 64


class Actor(BaseModel):
    """Who acts: an opaque user id, the user's organisation and role (no personal data)."""

    model_config = ConfigDict(frozen=True)
    user: str
    org: str
    role: Role


class Event(BaseModel):
    """A domain event, sealed into the project's hash chain."""

    model_config = ConfigDict(frozen=True)
    seq: int
    type: str
    at: str
    actor: Actor | None
    phase: str | None
    step: str | None
    task_id: str | None
    data: dict[str, Any]
    prev_hash: str
    hash: str

    def body(self) -> dict[str, Any]:
        """Every field but ``hash``, exactly as the API and the exports show it."""
        return self.model_dump(mode="json", exclude={"hash"})


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, body: dict[str, Any]) -> str:
    """``sha256(prev_hash + canonical_json(event without hash))``, hex."""
    return hashlib.sha256((prev_hash + canonical_json(body)).encode("utf-8")).hexdigest()


def format_time(moment: datetime) -> str:
    """The one representation of a moment in events: UTC, microseconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class TaskState(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    phase: str
    step: str
    kind: str
    assignee: str
    subject_org: str | None = None
    round: int = 1
    occurrence: int | None = None
    status: TaskStatus = "open"
    opened_at: str
    due_at: str
    deadline_missed: bool = False
    closed_at: str | None = None
    outcome: str | None = None
    data: dict[str, Any] = {}
    comment: str | None = None
    actor: Actor | None = None
    request_id: str | None = None
    reminded: bool = False  # the reminder before the due date was sent
    escalated: bool = False  # the lead's coordinators were told it is overdue
    on_behalf_of: str | None = None  # the partner whose task this was before it was reassigned
    subject_task: str | None = None  # for a decision on more time: the task that asks for it
    requested_due: str | None = None  # … and the due date asked for
    item: dict[str, str] | None = None  # for a task of a named step: its entry (org, title, perhaps due)
    erased_fields: list[str] = []  # personal fields whose values were erased (they read None)
    held_by: str | None = None  # the user id of the person of the owing organisation who holds it (TaskHeld)

    def slot_org(self) -> str:
        """The organisation whose share of a step this is (unchanged when the task is reassigned)."""
        return self.on_behalf_of or self.assignee


class Scheduled(BaseModel):
    model_config = ConfigDict(frozen=True)
    step: str
    occurrence: int
    at: str


class ProjectState(BaseModel):
    """The fold of a project's events. Containers are copied, tasks replaced, never mutated."""

    id: str = ""
    title: str = ""
    template: Template | None = None  # None in a continued run's input: the worker resolves ``template_ref``
    template_ref: TemplateRef | None = None
    tally: Tally | None = None  # None: not counted yet (a new project, or a run continued by an earlier version)
    lead: str = ""
    partners: list[str] = []
    parameters: dict[str, Any] = {}
    status: ProjectStatus = "new"
    phase: str | None = None
    tasks: dict[str, TaskState] = {}
    rounds: dict[str, int] = {}
    scheduled: list[Scheduled] = []
    seq: int = 0
    head: str = ZERO_HASH
    started_at: str | None = None
    updated_at: str | None = None
    ended_at: str | None = None  # when it was completed, rejected or cancelled
    sealed: bool = False  # its personal values are sealed tokens (every project started since sealing)
    personal_values: int = 0  # personal values recorded in its trail …
    personal_documents: int = 0  # … and personal documents
    erasure: dict[str, Any] | None = None  # once its personal data was erased: when, by whom, why

    def compacted(self) -> ProjectState:
        """What a continued run needs: closed tasks keep who, when and the outcome, not their form data.

        No rule reads a closed task's data (but the steps that name a later step's assignees: kept), the
        store keeps all of it, and the state carried to
        the next run must stay far below Temporal's payload limit however long the project runs.
        """
        keep = self.template.naming_sources() if self.template is not None else set()  # they name later assignees
        tasks = {k: t if t.status == "open" or t.step in keep else t.model_copy(update={"data": {}, "comment": None})
                 for k, t in self.tasks.items()}
        return self.model_copy(update={"tasks": tasks})

    def carried(self) -> ProjectState:
        """What a continued run needs (``domain/tally.py``): the open tasks, the few closed ones a rule still
        reads, the tally and the template's reference; not the closed tasks (the store keeps them), nor the
        template (the worker has it). It stays small however many tasks the project closes."""
        assert self.template is not None
        state = self.copy_for_change()
        kept = _kept_closed(state)
        return state.model_copy(update={
            "tasks": {k: t for k, t in state.tasks.items() if t.status == "open" or k in kept},
            "template": None, "template_ref": self.reference()})

    def reference(self) -> TemplateRef:
        """The pinned template's id, version and digest."""
        if self.template_ref is None:
            assert self.template is not None
            digest = template_digest(self.template.model_dump(mode="json"))
            self.template_ref = TemplateRef(id=self.template.id, version=self.template.version, digest=digest)
        return self.template_ref

    def copy_for_change(self) -> ProjectState:
        return self.model_copy(update={
            "partners": list(self.partners), "parameters": dict(self.parameters),
            "tasks": dict(self.tasks), "rounds": dict(self.rounds), "scheduled": list(self.scheduled),
            "tally": self.tally.copied() if self.tally is not None else Tally.of_tasks(self.tasks.values()),
        })


def _kept_closed(state: ProjectState) -> set[str]:
    """The closed tasks a rule still reads (``Decision.current``): those of the current round of a step whose
    completion names a later step's assignees, and the reports (of any step) whose review is still open."""
    assert state.template is not None
    template = state.template
    naming = template.naming_sources()
    reviewed = set()
    for task in state.tasks.values():
        source = template.step(task.step).after_each if task.status == "open" else None
        if source is not None:
            reviewed.add((source, task.subject_org, task.occurrence))
    return {k for k, t in state.tasks.items()
            if t.status in ("completed", "waived") and t.round >= state.rounds.get(t.step, 1)
            and (t.step in naming or (t.step, t.slot_org(), t.occurrence) in reviewed)}


class StartProject(BaseModel):
    kind: Literal["start_project"] = "start_project"
    project_id: str
    title: str
    template: Template | None = None  # None when sent by reference: the worker resolves ``template_ref``
    template_ref: TemplateRef | None = None
    lead: str
    partners: list[str]
    parameters: dict[str, Any] = {}
    actor: Actor
    sealed: bool = False  # its personal fields' values come sealed (set by the application layer)
    # its first event names the template by id, version and digest (``template_ref``, the text kept once in the
    # store) instead of holding the whole template; False in the inputs of runs begun before (they replay so)
    digest_in_first_event: bool = False


class CompleteTask(BaseModel):
    kind: Literal["complete_task"] = "complete_task"
    task_id: str
    actor: Actor
    data: dict[str, Any] = {}
    outcome: str | None = None
    comment: str | None = None
    request_id: str | None = None
    on_behalf_of_user: str | None = None  # a substitute completes the task its absent holder holds


class HoldTask(BaseModel):
    """Say who of the owing organisation holds an open task (``holder`` None: nobody). Without an ``actor``
    the system frees the task of ``release_of``, a person who left the organisation."""

    kind: Literal["hold_task"] = "hold_task"
    task_id: str
    actor: Actor | None
    holder: Actor | None = None
    release_of: str | None = None


class Tick(BaseModel):
    """Time has passed: open scheduled occurrences, remind, record missed deadlines, escalate."""

    kind: Literal["tick"] = "tick"


ChangeKind = Literal["extend_deadline", "waive", "reassign", "add_partner", "withdraw_partner", "cancel"]


class ChangeProject(BaseModel):
    """A change to a running project by a coordinator of the lead organisation, always with a reason."""

    kind: ChangeKind
    actor: Actor
    reason: str
    task_id: str | None = None
    due_at: str | None = None
    org: str | None = None


class RequestExtension(BaseModel):
    """A partner asks for more time for an open task: the lead's coordinators decide."""

    kind: Literal["request_extension"] = "request_extension"
    task_id: str
    actor: Actor
    due_at: str
    reason: str


class ErasePersonalData(BaseModel):
    """Erase a project's personal data: a coordinator of the lead organisation, or the system (``actor``
    None) when the template's retention period has passed since the project ended."""

    kind: Literal["erase_personal_data"] = "erase_personal_data"
    actor: Actor | None
    reason: str


Command = StartProject | CompleteTask | Tick | ChangeProject | RequestExtension | ErasePersonalData | HoldTask
