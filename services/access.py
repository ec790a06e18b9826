"""Who may see and do what. Every use case asks here; a project one may not see is not found."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from domain import Actor, Forbidden, NotFound, Template


def may_see(actor: Actor, project: dict[str, Any]) -> bool:
    return actor.role == "auditor" or project["lead"] == actor.org or actor.org in project["partners"]


def may_see_every_project(actor: Actor) -> bool:
    return actor.role == "auditor"


def check_may_see(actor: Actor, project: dict[str, Any] | None, project_id: str) -> dict[str, Any]:
    if project is None or not may_see(actor, project):
        raise NotFound(f"There is no project '{project_id}' that you may see.")
    return project


def may_verify(actor: Actor, project: dict[str, Any]) -> bool:
    """Auditors, and the lead organisation (its own trail)."""
    return actor.role == "auditor" or project["lead"] == actor.org


def check_may_verify(actor: Actor, project: dict[str, Any]) -> None:
    if not may_verify(actor, project):
        raise NotFound(f"There is no project '{project['id']}' whose trail you may verify.")


OPERATOR_USER = "operator"  # the CLI without --as: whoever runs it on the server


def check_may_operate(actor: Actor, project: dict[str, Any]) -> None:
    """Mending a project's plumbing (retrying a refused write): the operator or the lead's coordinators."""
    if actor.user != OPERATOR_USER and not (actor.role == "coordinator" and project["lead"] == actor.org):
        raise Forbidden("Only an operator or a coordinator of the lead organisation can retry a project's writes.")


def may_change(actor: Actor, project: dict[str, Any]) -> bool:
    """Changes to a running project: coordinators of the lead organisation."""
    return actor.role == "coordinator" and project["lead"] == actor.org


def check_may_start(actor: Actor) -> None:
    if actor.role != "coordinator":
        raise Forbidden("Only coordinators can start projects; you are signed in as "
                        f"{actor.role} of {actor.org}.")


# -- personal data ---------------------------------------------------------------------------
# A template marks the fields about a person ``personal: true``. Their values are shown to auditors,
# the lead organisation, the organisation whose task it is, and the organisation the project is
# currently referred to (named by an org field: the counterpart of a return referral); anyone else
# in the project sees the task without them (and ``redacted`` names what was left out).

REDACTED = "redacted"


def counterparts(project: dict[str, Any], template: Template) -> set[str]:
    """The organisations named by the latest completion of each org field that names a step's assignee."""
    named: set[str] = set()
    for _, step in template.steps():
        source = step.named_in
        if source is None or template.step(source.step).form_field(source.field).type != "org":
            continue
        done = [t for t in project.get("tasks", []) if t["step"] == source.step and t["status"] == "completed"]
        if done:
            latest = max(done, key=lambda t: (t["round"], int(t["id"].lstrip("t") or 0)))
            named.add(str(latest["data"].get(source.field, "")))
    return named


def may_read_personal(actor: Actor, project: dict[str, Any], task: dict[str, Any], counterpart: set[str]) -> bool:
    return (actor.role == "auditor" or actor.org == project["lead"] or actor.org in counterpart
            or actor.org in (task.get("assignee"), task.get("on_behalf_of")))


def redacted_project(actor: Actor, project: dict[str, Any], template: Template) -> dict[str, Any]:
    """The project as ``actor`` may read it: personal fields of others' tasks left out."""
    if "tasks" not in project or not template.has_personal_fields():
        return project
    counterpart = counterparts(project, template)
    tasks = []
    for task in project["tasks"]:
        hidden = sorted(template.personal_fields(task["step"]) & set(task.get("data") or {}))
        if hidden and not may_read_personal(actor, project, task, counterpart):
            task = {**task, "data": {k: v for k, v in task["data"].items() if k not in hidden}, REDACTED: hidden}
        tasks.append(task)
    return {**project, "tasks": tasks}


def redacted_events(actor: Actor, project: dict[str, Any], template: Template,
                    events: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The events as ``actor`` may read them: the personal fields of completions left out as in the
    project (an event so shortened no longer matches its hash: those who may verify read it whole)."""
    if not template.has_personal_fields():
        yield from events
        return
    counterpart = counterparts(project, template)
    tasks = {t["id"]: t for t in project.get("tasks", [])}
    for event in events:
        form = event["data"].get("form") if isinstance(event.get("data"), dict) else None
        task = tasks.get(event.get("task_id") or "")
        hidden = sorted(template.personal_fields(event["step"]) & set(form)) if form and event.get("step") else []
        if hidden and task is not None and not may_read_personal(actor, project, task, counterpart):
            form = {k: v for k, v in form.items() if k not in hidden}  # type: ignore[union-attr]
            event = {**event, "data": {**event["data"], "form": form}, REDACTED: hidden}
        yield event
