"""The application layer: every use case, with its permission check. CLI and web call only this."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from domain import (
    Actor,
    CompleteTask,
    InvalidRequest,
    NotFound,
    ProjectState,
    StartProject,
    TaskClosed,
    Template,
    decide,
    error_from_code,
    fold,
    format_time,
    parse_time,
    project_view,
)
from domain.model import Event
from services import access, audit
from services.temporal import TemporalUnavailable
from store import EventFilter, accounts, iter_events, read
from templates import TemplateRegistry
from workflows import ProjectInput, ProjectWorkflow, workflow_id
from workflows.project import LEAD, PHASE, STATUS

UPDATE_TIMEOUT = 30.0  # seconds a caller waits for a completion before hearing why not


class Coopflow:
    """Use cases over one store (engine), one Temporal client and the template registry."""

    def __init__(self, *, engine: Engine, client: Client, task_queue: str,
                 templates: TemplateRegistry | None = None) -> None:
        self.engine, self.client, self.task_queue = engine, client, task_queue
        self.templates = templates or TemplateRegistry()
        self._pinned: dict[tuple[str, int], Template] = {}  # versions no longer installed here

    # -- identity -----------------------------------------------------------------------
    def actor_for_email(self, email: str) -> Actor:
        user = accounts.user_by_email(self.engine, email)
        return Actor(user=user.id, org=user.org_id, role=user.role)

    def actor_for_token(self, token: str) -> Actor | None:
        user = accounts.user_by_token(self.engine, token)
        return Actor(user=user.id, org=user.org_id, role=user.role) if user else None

    async def health(self) -> dict[str, str]:
        """``ok`` or ``unavailable`` for Temporal and for the store."""
        parts = {"temporal": "ok", "store": "ok"}
        try:
            await self.client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=timedelta(seconds=2))
        except Exception:
            parts["temporal"] = "unavailable"
        try:
            read.ping(self.engine)
        except Exception:
            parts["store"] = "unavailable"
        return {"status": "ok" if set(parts.values()) == {"ok"} else "unavailable", **parts}

    # -- projects -----------------------------------------------------------------------
    async def start_project(self, actor: Actor, *, title: str, partners: list[str], template: str = "cooperation",
                            parameters: dict[str, Any] | None = None, history_limit: int | None = None
                            ) -> dict[str, Any]:
        """Start a project led by the actor's organisation; returns it once it is in the store."""
        access.check_may_start(actor)
        unknown = sorted(set(partners) - accounts.existing_orgs(self.engine, partners))
        if unknown:
            raise InvalidRequest(f"Unknown partner organisation(s): {', '.join(unknown)}.", {"partners": unknown})
        project_id = uuid.uuid4().hex[:12]
        command = StartProject(project_id=project_id, title=title, template=self.templates.latest(template),
                               lead=actor.org, partners=partners, parameters=parameters or {}, actor=actor)
        decide(ProjectState(), command, datetime.now(UTC))  # refuse bad input before Temporal sees it
        start = WithStartWorkflowOperation(
            ProjectWorkflow.run, ProjectInput(start=command, history_limit=history_limit),
            id=workflow_id(project_id), task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=TypedSearchAttributes([
                SearchAttributePair(PHASE, command.template.phases[0].key),
                SearchAttributePair(STATUS, "active"), SearchAttributePair(LEAD, actor.org)]))
        result: dict[str, Any] = await self.client.execute_update_with_start_workflow(
            ProjectWorkflow.sync, start_workflow_operation=start)
        return result

    def template_of(self, project: dict[str, Any]) -> Template:
        """The template version the project pinned: installed here, or else as its first event recorded it."""
        key = (project["template"]["id"], project["template"]["version"])
        try:
            return self.templates.get(*key)
        except InvalidRequest:
            if key not in self._pinned:
                first = next(iter_events(self.engine, project["id"], batch=1))
                self._pinned[key] = Template.model_validate(first["data"]["template"])
            return self._pinned[key]

    def list_projects(self, actor: Actor) -> list[dict[str, Any]]:
        if actor.role == "auditor":
            return read.list_projects(self.engine)
        led = read.list_projects(self.engine, lead=actor.org)
        return led + read.list_projects(self.engine, member=actor.org)

    def _project(self, actor: Actor, project_id: str) -> dict[str, Any]:
        return access.check_may_see(actor, read.get_project(self.engine, project_id), project_id)

    def show_project(self, actor: Actor, project_id: str, as_of: str | None = None) -> dict[str, Any]:
        """The project as it is, or as it was at ``as_of``, rebuilt from the stored events."""
        if as_of is None:
            return access.check_may_see(actor, read.get_project(self.engine, project_id, with_tasks=True), project_id)
        self._project(actor, project_id)
        moment = _moment(as_of, "as_of")
        events = [Event.model_validate(e) for e in iter_events(self.engine, project_id, EventFilter(until=moment))]
        if not events:
            raise NotFound(f"Project '{project_id}' did not exist yet at {as_of}.", {"as_of": as_of})
        return {**project_view(fold(events)), "as_of": moment}

    # -- tasks --------------------------------------------------------------------------
    def list_tasks(self, actor: Actor) -> list[dict[str, Any]]:
        """Open tasks of the actor's organisation (auditors: auditor tasks), overdue first."""
        tasks = read.open_tasks(self.engine, "auditor" if actor.role == "auditor" else actor.org)
        if actor.role != "auditor":  # a step any partner may take is in every partner's inbox
            mine = {p["id"] for p in read.list_projects(self.engine, member=actor.org)}
            tasks += [t for t in read.open_tasks(self.engine, "any_partner") if t["project_id"] in mine]
        return sorted(tasks, key=lambda t: (not t["deadline_missed"], t["due_at"]))

    async def complete_task(self, actor: Actor, project_id: str, task_id: str, *, data: Any = None,
                            outcome: str | None = None, comment: str | None = None,
                            request_id: str | None = None) -> dict[str, Any]:
        """Complete a task; returns it once its events are in the store."""
        found = read.get_task(self.engine, project_id, task_id)
        if found is None:
            self._project(actor, project_id)  # not found either way; this says which
            raise NotFound(f"Project '{project_id}' has no task '{task_id}'.")
        access.check_may_see(actor, found[0], project_id)
        row = found[1]
        if row["task_status"] != "open":
            first = dict(json.loads(row["view"]))
            if request_id is not None and row["request_id"] == request_id and (
                    first.get("completed_by") or {}).get("user") == actor.user:
                return first  # the same request again: the first answer, nothing new happens
            raise TaskClosed(f"Task {task_id} ({row['step']}) is {row['task_status']} "
                             "and can no longer be completed.")
        if data is not None and not isinstance(data, dict):
            raise error_from_code("invalid_data", "The data must be an object of field names and values.",
                                  {"data": "must be an object"})
        command = CompleteTask(task_id=task_id, actor=actor, data=data or {}, outcome=outcome,
                               comment=comment, request_id=request_id)
        handle = self.client.get_workflow_handle(workflow_id(project_id))
        try:
            result: dict[str, Any] = await asyncio.wait_for(
                handle.execute_update(ProjectWorkflow.complete_task, command), UPDATE_TIMEOUT)
        except TimeoutError:
            raise TemporalUnavailable(
                f"Task {task_id} was sent, but no worker answered within {UPDATE_TIMEOUT:.0f} s; it completes "
                "when one does. Reload to see it, or repeat the request with the same Idempotency-Key.") from None
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.type:
                raise error_from_code(cause.type, cause.message, cause.details[0] if cause.details else None) from None
            raise
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:  # the workflow has ended meanwhile
                raise TaskClosed(f"Project '{project_id}' has ended; "
                                 f"task {task_id} can no longer be completed.") from None
            raise
        return result

    # -- the audit trail ----------------------------------------------------------------
    def list_events(self, actor: Actor, project_id: str, *, by_email: str | None = None, org: str | None = None,
                    type: str | None = None, since: str | None = None, until: str | None = None
                    ) -> Iterator[dict[str, Any]]:
        """The project's events in seq order, narrowed by the auditor's filters."""
        self._project(actor, project_id)
        user = None
        if by_email is not None:
            try:
                user = accounts.user_by_email(self.engine, by_email).id
            except NotFound:
                raise InvalidRequest(f"There is no user with e-mail {by_email}.", {"actor": "unknown"}) from None
        where = EventFilter(actor_user=user, org=org, type=type, since=_moment(since, "since"),
                            until=_moment(until, "until"))
        return iter_events(self.engine, project_id, where)

    def verify(self, actor: Actor, project_id: str) -> dict[str, Any]:
        """The hash chain recomputed, and its end checked against what the project recorded."""
        project = self._project(actor, project_id)
        access.check_may_verify(actor, project)
        return audit.verify_anchored(iter_events(self.engine, project_id), project)

    async def verify_against_history(self, actor: Actor, project_id: str) -> dict[str, Any]:
        """Compare the trail with the workflow's own events and the updates in its history."""
        result = self.verify(actor, project_id)
        stored = list(iter_events(self.engine, project_id))
        result["history"] = await audit.compare_with_history(self.client, project_id, stored)
        result["problems"] += result["history"]["problems"]
        result["ok"] = not result["problems"]
        return result

    def verifiable_projects(self, actor: Actor) -> list[dict[str, Any]]:
        """The projects whose trail the actor may verify (auditors: all; coordinators: led ones)."""
        return [p for p in self.list_projects(actor) if access.may_verify(actor, p)]

    def user_emails(self) -> dict[str, str]:
        return accounts.emails_by_user_id(self.engine)


def _moment(text: str | None, field: str) -> str | None:
    """An ISO 8601 moment in the events' own representation, for comparing with ``at``."""
    if text is None:
        return None
    try:
        return format_time(parse_time(text))
    except ValueError:
        raise InvalidRequest(f"'{text}' is not an ISO 8601 moment such as 2027-03-01T12:00:00Z.",
                             {field: "invalid"}) from None
