"""The named rules a command must pass, each a ``check_*`` that raises a domain error: shared by
``decide`` (every command), ``changes`` and the application layer (to refuse input early)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from types import UnionType
from typing import Any

from domain.durations import parse_duration
from domain.errors import DomainError, InvalidData, InvalidRequest, NotAssigned, NotFound, TaskClosed
from domain.forms import validate_form
from domain.limits import (
    MAX_COMMENT_CHARS,
    MAX_COMPLETION_BYTES,
    MAX_KEY_CHARS,
    MAX_PARTNERS,
    MAX_TITLE_CHARS,
    json_size,
    line_problem,
    shown,
    text_problem,
)
from domain.model import Actor, CompleteTask, ProjectState, TaskState
from domain.template import Step, Template

DURATION_PARAMETER = (1 / 24, 5 * 366)  # days: from an hour to five years, so every date stays reachable


def check_parameters(template: Template, given: dict[str, Any]) -> dict[str, Any]:
    """Validate project parameters against the template; return them with defaults filled in."""
    if not isinstance(given, dict):
        raise InvalidRequest("The parameters must be an object of names and values.", {"parameters": "not an object"})
    errors: dict[str, str] = {f"parameters.{shown(k, 40)}": "is not a parameter of this template"
                              for k in given if k not in template.parameters}
    values: dict[str, Any] = {}
    for name, param in template.parameters.items():
        value = given.get(name, param.default)
        if param.type == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
            if not ok or (param.min is not None and value < param.min) or (param.max is not None and value > param.max):
                bounds = f" from {param.min} to {param.max}" if param.min is not None and param.max is not None else ""
                errors[f"parameters.{name}"] = f"must be a whole number{bounds}"
        else:
            try:
                days = parse_duration(value).approx_days()
            except (ValueError, TypeError):
                errors[f"parameters.{name}"] = "must be an ISO 8601 duration such as P1M or P2W"
                continue
            if not DURATION_PARAMETER[0] <= days <= DURATION_PARAMETER[1]:
                errors[f"parameters.{name}"] = "must be from one hour (PT1H) to five years (P5Y)"
        values[name] = value
    if errors:
        raise InvalidRequest("Some project parameters are not valid: " + "; ".join(
            f"{k} {v}" for k, v in errors.items()) + ".", errors)
    return values


ORG_ID = re.compile(r"[a-z0-9][a-z0-9-]*")


def check_org_id(org: object, field: str = "org") -> str:
    """An organisation id as the store keeps them: lower case letters, digits and '-'."""
    if not isinstance(org, str) or len(org) > 100 or not ORG_ID.fullmatch(org):
        raise InvalidRequest(f"'{shown(org)}' is not an organisation id (lower case letters, digits and '-', "
                             "such as caritas-rs).", {field: "is not an organisation id"})
    return org


def check_kind(field: str, value: object, kind: type | UnionType, described: str,
               error: type[DomainError] = InvalidRequest) -> None:
    """Input from outside is what it should be (a text, a list …), or refused naming the field."""
    if not isinstance(value, kind):
        raise error(f"The {field.replace('_', ' ')} must be {described}.", {field: f"must be {described}"})


def check_partners(lead: str, partners: list[str]) -> None:
    check_kind("partners", partners, list, "a list of organisation ids")
    if not partners:
        raise InvalidRequest("A project needs at least one partner organisation.", {"partners": "is empty"})
    if len(partners) > MAX_PARTNERS:
        raise InvalidRequest(f"A project has at most {MAX_PARTNERS} partner organisations.",
                             {"partners": f"has more than {MAX_PARTNERS}"})
    for org in partners:
        check_org_id(org, "partners")
    if len(set(partners)) != len(partners):
        raise InvalidRequest("A partner organisation is listed twice.", {"partners": "has duplicates"})
    if lead in partners:
        raise InvalidRequest(f"The lead organisation '{lead}' cannot also be a partner.", {"partners": lead})


def check_task(state: ProjectState, task_id: str) -> TaskState:
    task = state.tasks.get(task_id)
    if task is None and state.tally is not None and re.fullmatch(r"t[1-9][0-9]{0,8}", task_id) \
            and int(task_id[1:]) <= state.tally.opened:  # closed in an earlier run: the store holds it
        raise TaskClosed(f"Task {task_id} is closed and can no longer be changed.")
    if task is None:
        raise NotFound(f"Project {state.id} has no task '{task_id}'.")
    return task


def is_repeat(task: TaskState, c: CompleteTask) -> bool:
    """``c`` is a retry, by the same user with the same key, of the request that completed ``task``."""
    return (task.status == "completed" and c.request_id is not None and task.request_id == c.request_id
            and task.actor is not None and task.actor.user == c.actor.user)


def check_task_open(task: TaskState) -> None:
    if task.status != "open":
        raise TaskClosed(f"Task {task.id} ({task.step}) is {task.status} and can no longer be completed.")


def check_may_complete(partners: list[str], task: TaskState, step: Step, actor: Actor) -> None:
    """Only the assigned organisation completes a task; coordinator steps need a coordinator."""
    if task.assignee == "auditor":
        ok = actor.role == "auditor"
    elif task.assignee == "any_partner":
        ok = actor.org in partners and actor.role in ("coordinator", "partner")
    elif step.assignee == "coordinator":
        ok = actor.org == task.assignee and actor.role == "coordinator"
    else:
        ok = actor.org == task.assignee and actor.role in ("coordinator", "partner")
    if not ok:
        who = "an auditor" if task.assignee == "auditor" else f"organisation '{task.assignee}'"
        role = " (role coordinator)" if step.assignee == "coordinator" else ""
        raise NotAssigned(f"Task {task.id} ({task.step}) is assigned to {who}{role}, "
                          f"not to {actor.org} as {actor.role}.")


def check_outcome(step: Step, outcome: str | None) -> None:
    names = [o.name for o in step.outcomes]
    if step.kind == "decision" and outcome not in names:
        said = f"'{shown(outcome)}' is not one of them" if outcome else "none was given"
        raise InvalidData(f"Step {step.key} needs an outcome ({', '.join(names)}); {said}.",
                          {"outcome": f"must be one of: {', '.join(names)}"})
    if step.kind != "decision" and outcome is not None:
        raise InvalidData(f"Step {step.key} is not a decision and takes no outcome.",
                          {"outcome": "must be left out"})


def check_storable(field: str, value: str | None, max_chars: int, error: type[DomainError] = InvalidData) -> None:
    """Text that can go into an event and every database: bounded, no control characters."""
    problem = text_problem(value, max_chars) if value is not None else None
    if problem:
        raise error(f"The {field.replace('_', ' ')} {problem}.", {field: problem})


def check_title(title: str) -> None:
    """A project's title: storable, and one line. Checked where a title enters (the application layer),
    not in ``decide``: a project started with a line break in its title before this rule must still
    replay its start."""
    check_storable("title", title, MAX_TITLE_CHARS, InvalidRequest)
    problem = line_problem(title)
    if problem:
        raise InvalidRequest(f"The title {problem}.", {"title": problem})


def check_named_orgs(state: ProjectState, step: Step, form: dict[str, Any], now: datetime) -> None:
    """The organisations an org or assignments field names are in the project (its partners, for a field with
    ``orgs: partners``); their due dates are ahead."""
    latest = (now + timedelta(days=5 * 366)).date().isoformat()
    errors: dict[str, str] = {}
    for field in step.form:
        value = form.get(field.name)
        members, said = ((set(state.partners), "a partner") if field.orgs == "partners"
                         else ({state.lead, *state.partners}, "an organisation"))
        if field.type == "org" and value is not None and value not in members:
            errors[field.name] = f"'{value}' is not {said} of this project"
        for entry in (value or []) if field.type == "assignments" else []:
            if entry["org"] not in members:
                errors[field.name] = f"'{entry['org']}' is not {said} of this project"
            elif "due" in entry and not now.date().isoformat() <= entry["due"] <= latest:
                errors[field.name] = f"the due date {entry['due']} is not between today and five years from now"
    if errors:
        listed = "; ".join(f"{k}: {v}" for k, v in errors.items())
        raise InvalidData(f"Some fields are not valid: {listed}.", errors)


def check_completion_size(body: dict[str, Any]) -> None:
    """One completion stays far below what Temporal accepts in one payload (see ``domain.limits``)."""
    for field, limit in (("comment", MAX_COMMENT_CHARS), ("request_id", MAX_KEY_CHARS)):
        check_storable(field, body.get(field), limit)
    size = json_size(body)
    if size > MAX_COMPLETION_BYTES:
        raise InvalidData(f"This completion is too large ({size // 1024} KB; at most {MAX_COMPLETION_BYTES // 1024} "
                          "KB of form data in all). Shorten the longest texts, or attach a document instead.",
                          {"data": f"is too large: at most {MAX_COMPLETION_BYTES // 1024} KB in all"})


def check_completion(partners: list[str], task: TaskState, step: Step, c: CompleteTask, *,
                     sealed: bool = False, now: datetime | None = None) -> dict[str, Any]:
    """Every rule of a completion that the task, its step and the partners decide; returns the event's data.

    The application layer asks it too, before anything is sent to Temporal, so that input that
    cannot be accepted (too large, say) never reaches a workflow: first of the values in clear, then,
    in a project whose personal data is sealed (``sealed``), of the command with them sealed. ``now``
    bounds the ``today`` dates: the workflow's time in ``decide``, the clock of the application before.
    """
    check_may_complete(partners, task, step, c.actor)
    check_task_open(task)
    check_outcome(step, c.outcome)
    data = validate_form(step.form, c.data, sealed=sealed, now=now)
    body: dict[str, Any] = {"form": data}
    if c.outcome is not None:
        body["outcome"] = c.outcome
    if c.comment:
        body["comment"] = c.comment
    if c.request_id:
        body["request_id"] = c.request_id
    if c.on_behalf_of_user is not None:  # since substitutes: left out otherwise, as in every older event
        if c.on_behalf_of_user != task.held_by:
            raise InvalidRequest(f"Task {task.id} is not held by the person this completion is on behalf of.",
                                 {"on_behalf_of_user": "does not hold the task"})
        body["on_behalf_of_user"] = c.on_behalf_of_user
    check_completion_size(body)
    return body
