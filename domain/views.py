"""The shapes users see (a task, a project: docs/api.md), built from the state alone."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from domain.model import ProjectState, TaskState
from domain.personal import retention_ends
from domain.template import FormField, Template


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def form_view(field: FormField) -> dict[str, Any]:
    out: dict[str, Any] = {"name": field.name, "type": field.type, "required": field.required}
    if field.personal:
        out["personal"] = True
    if field.min is not None:
        out["min"] = _number(field.min)
    if field.max is not None:
        out["max"] = _number(field.max)
    if field.must_be_true:
        out["must_be_true"] = True
    return out


def template_of(state: ProjectState) -> Template:
    """The state's template; a state folded from a trail whose first event names its template by digest has it
    only when the fold began with it (``domain.evolve.started_state``)."""
    if state.template is None:
        ref = state.template_ref
        named = f"template {ref.id} version {ref.version} (digest {ref.digest})" if ref else "its template"
        raise ValueError(f"Project {state.id or '?'}: {named} is not at hand: fold its events onto "
                         "started_state(the pinned template).")
    return state.template


def task_view(state: ProjectState, task: TaskState) -> dict[str, Any]:
    step = template_of(state).step(task.step)
    return {
        "id": task.id, "project_id": state.id, "phase": task.phase, "step": task.step,
        "kind": task.kind, "assignee": task.assignee, "subject_org": task.subject_org,
        "round": task.round, "occurrence": task.occurrence, "status": task.status,
        "opened_at": task.opened_at, "due_at": task.due_at, "deadline_missed": task.deadline_missed,
        "closed_at": task.closed_at,
        "completed_by": task.actor.model_dump() if task.actor else None,
        "outcome": task.outcome, "data": task.data, "comment": task.comment,
        "holder": {"user_id": task.held_by} if task.held_by else None,  # the application layer adds the name
        **({"on_behalf_of": task.on_behalf_of} if task.on_behalf_of else {}),
        **({"subject_task": task.subject_task, "requested_due": task.requested_due} if task.subject_task else {}),
        **({"item": task.item} if task.item else {}),
        **({"erased_fields": list(task.erased_fields)} if template_of(state).has_personal_fields() else {}),
        "outcomes": [o.name for o in step.outcomes], "form": [form_view(f) for f in step.form],
    }


def project_view(state: ProjectState) -> dict[str, Any]:
    return {**summary_view(state), "tasks": [task_view(state, t) for t in state.tasks.values()]}


def summary_view(state: ProjectState) -> dict[str, Any]:
    """The project without its tasks (what the project list shows)."""
    template = template_of(state)
    return {
        "id": state.id, "title": state.title,
        "template": {"id": template.id, "version": template.version},
        "lead": state.lead, "partners": state.partners, "status": state.status, "phase": state.phase,
        "parameters": state.parameters, "started_at": state.started_at, "updated_at": state.updated_at,
        "seq": state.seq, "head": state.head,
        **({"personal_data": personal_data_view(state)} if template.has_personal_fields() else {}),
    }


def personal_data_view(state: ProjectState) -> dict[str, Any]:
    """Whether the project's personal data is kept (and, once the project ended, when its retention period
    erases it) or was erased (when, by whom, why); ``sealed`` says whether its values are sealed (false: a
    case started before sealing, which cannot be erased)."""
    if state.erasure is not None:
        return {"status": "erased", **state.erasure, "sealed": True}
    ends = retention_ends(state)
    return {"status": "kept", "sealed": state.sealed, **({"erase_at": ends} if ends else {})}


def holder_of(task: dict[str, Any] | None) -> str | None:
    """The user id of the person who holds a task view (views written before holders have none)."""
    held: str | None = ((task or {}).get("holder") or {}).get("user_id")
    return held
