"""The application layer: every use case, with its permission check. CLI and web call only this."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain import (
    Actor,
    CompleteTask,
    InvalidRequest,
    NotFound,
    ProjectState,
    StartProject,
    TaskClosed,
    TaskState,
    Template,
    decide,
    error_from_code,
    fold,
    format_time,
    parse_time,
    project_view,
)
from domain.decide import check_completion, check_partners, check_storable
from domain.limits import MAX_COMPLETION_BYTES, MAX_KEY_CHARS, json_size
from domain.model import Event
from services import access, audit
from services.temporal import call_until
from store import EventFilter, StoreUnavailable, accounts, iter_events, read
from store import incidents as store_incidents
from templates import TemplateRegistry
from workflows import ProjectInput, ProjectWorkflow, workflow_id
from workflows.project import LEAD, PHASE, STATUS

if TYPE_CHECKING:
    from settings import Settings

UPDATE_TIMEOUT = 30.0  # seconds a caller waits for a completion before hearing why not


class Coopflow:
    """Use cases over one store (engine), one Temporal client and the template registry."""

    def __init__(self, *, engine: Engine, client: Client, task_queue: str,
                 templates: TemplateRegistry | None = None, update_timeout: float = UPDATE_TIMEOUT,
                 write_timeout: float = 10.0, workflow_task_timeout: float = 10.0) -> None:
        self.engine, self.client, self.task_queue = engine, client, task_queue
        self.update_timeout = update_timeout  # how long a caller waits for Temporal before a 503
        self.write_timeout = write_timeout  # how long one attempt of a store write may take
        self.workflow_task_timeout = workflow_task_timeout
        self.templates = templates or TemplateRegistry()
        self._pinned: dict[tuple[str, int], Template] = {}  # versions no longer installed here

    @classmethod
    def configured(cls, settings: Settings, *, engine: Engine, client: Client) -> Coopflow:
        """The application layer with the deployment's settings (task queue, waits)."""
        return cls(engine=engine, client=client, task_queue=settings.task_queue,
                   update_timeout=settings.update_timeout, write_timeout=settings.write_timeout,
                   workflow_task_timeout=settings.workflow_task_timeout)

    # -- identity -----------------------------------------------------------------------
    def actor_for_email(self, email: str) -> Actor:
        user = accounts.user_by_email(self.engine, email)
        return Actor(user=user.id, org=user.org_id, role=user.role)

    def actor_for_token(self, token: str) -> Actor | None:
        user = accounts.user_by_token(self.engine, token)
        return Actor(user=user.id, org=user.org_id, role=user.role) if user else None

    async def health(self) -> dict[str, Any]:
        """``ok`` or ``unavailable`` for Temporal and for the store, and the open incidents."""
        parts = {"temporal": "ok", "store": "ok"}
        try:
            await self.client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=timedelta(seconds=2))
        except Exception:
            parts["temporal"] = "unavailable"
        try:
            read.ping(self.engine)
        except Exception:
            parts["store"] = "unavailable"
        result: dict[str, Any] = {"status": "ok" if set(parts.values()) == {"ok"} else "unavailable", **parts}
        if parts["store"] == "ok":  # a project paused by an incident waits for an operator: say so here too
            found = [{k: i[k] for k in ("project_id", "seq", "since")} for i in store_incidents(self.engine)]
            if found:
                result["incidents"] = found
        return result

    # -- projects -----------------------------------------------------------------------
    async def start_project(self, actor: Actor, *, title: str, partners: list[str], template: str = "cooperation",
                            parameters: dict[str, Any] | None = None, history_limit: int | None = None,
                            request_id: str | None = None) -> dict[str, Any]:
        """Start a project led by the actor's organisation; returns it once it is in the store.

        With ``request_id`` (an Idempotency-Key) a repeat of the same request finds the project
        the first one started instead of starting a second.
        """
        access.check_may_start(actor)
        check_partners(actor.org, partners)
        unknown = sorted(set(partners) - accounts.existing_orgs(self.engine, partners))
        if unknown:
            raise InvalidRequest(f"Unknown partner organisation(s): {', '.join(unknown)}.", {"partners": unknown})
        if request_id is not None:
            check_storable("request_id", request_id, MAX_KEY_CHARS, InvalidRequest)
            project_id = hashlib.sha256(f"start\0{actor.user}\0{request_id}".encode()).hexdigest()[:12]
            if read.get_project(self.engine, project_id) is not None:
                return self.show_project(actor, project_id)
        else:
            project_id = uuid.uuid4().hex[:12]
        command = StartProject(project_id=project_id, title=title, template=self.templates.latest(template),
                               lead=actor.org, partners=partners, parameters=parameters or {}, actor=actor)
        decide(ProjectState(), command, datetime.now(UTC))  # refuse bad input before Temporal sees it
        attributes = TypedSearchAttributes([
            SearchAttributePair(PHASE, command.template.phases[0].key),
            SearchAttributePair(STATUS, "active"), SearchAttributePair(LEAD, actor.org)])
        deadline = asyncio.get_running_loop().time() + self.update_timeout

        async def call(rpc_timeout: timedelta) -> dict[str, Any]:
            start = WithStartWorkflowOperation(
                ProjectWorkflow.run, ProjectInput(start=command, history_limit=history_limit,
                                                  write_timeout=self.write_timeout),
                id=workflow_id(project_id), task_queue=self.task_queue, search_attributes=attributes,
                task_timeout=timedelta(seconds=self.workflow_task_timeout),
                # a retry of this call (or of the same Idempotency-Key) joins the workflow it started;
                # a closed one is never started again under the same id
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
            result: dict[str, Any] = await self.client.execute_update_with_start_workflow(
                ProjectWorkflow.sync, start_workflow_operation=start, id=f"start-{project_id}",
                rpc_timeout=rpc_timeout)
            return result

        try:
            await call_until(deadline, call, waiting_for="the start of the project")
        except WorkflowAlreadyStartedError:  # started and closed already: the store has it
            pass
        except WorkflowUpdateFailedError as exc:
            raise _update_error(exc) from None
        return self.show_project(actor, project_id)

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
            return access.check_may_see(actor, read.get_project(self.engine, project_id, with_tasks=True),
                                        project_id)
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
        """Complete a task; returns it once its events are in the store.

        ``request_id`` (an Idempotency-Key) is the Temporal update id as well: a repeat while the
        first is under way joins it, and a repeat after it answers as it did.
        """
        check_storable("request_id", request_id, MAX_KEY_CHARS, InvalidRequest)
        found = read.get_task(self.engine, project_id, task_id)
        if found is None:
            self._project(actor, project_id)  # not found either way; this says which
            raise NotFound(f"Project '{project_id}' has no task '{task_id}'.")
        access.check_may_see(actor, found[0], project_id)
        row = found[1]
        if row["task_status"] != "open":
            # the store holds only what Temporal accepted (see workflows/project.py), so this is
            # the answer the first request got
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
        if json_size([data, outcome, comment]) > MAX_COMPLETION_BYTES:
            # what the workflow's validator would say, said here: an argument this large must not reach
            # Temporal, whose limits it could break (smaller ones the validator checks in full)
            view = json.loads(row["view"])
            task = TaskState.model_validate({k: view[k] for k in TaskState.model_fields if k in view and k != "data"})
            check_completion(found[0]["partners"], task, self.template_of(found[0]).step(row["step"]), command)
        handle = self.client.get_workflow_handle(workflow_id(project_id))
        update_id = f"complete-{task_id}-{actor.user}-{request_id}" if request_id else f"complete-{uuid.uuid4()}"
        deadline = asyncio.get_running_loop().time() + self.update_timeout

        async def call(rpc_timeout: timedelta) -> dict[str, Any]:
            result: dict[str, Any] = await handle.execute_update(
                ProjectWorkflow.complete_task, command, id=update_id, rpc_timeout=rpc_timeout)
            return result

        try:
            return await call_until(deadline, call, waiting_for=f"the completion of task {task_id}",
                                    give_up=lambda: self._paused(project_id))
        except WorkflowUpdateFailedError as exc:
            raise _update_error(exc) from None
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:  # the workflow has ended meanwhile
                raise TaskClosed(f"Project '{project_id}' has ended; "
                                 f"task {task_id} can no longer be completed.") from None
            raise

    # -- incidents ----------------------------------------------------------------------
    def _paused(self, project_id: str) -> StoreUnavailable | None:
        """The error for a caller whose change waits on an incident: accepted, kept, not yet in the store."""
        found = store_incidents(self.engine, project_id)
        if not found:
            return None
        return StoreUnavailable(
            f"The change was accepted, but the audit store refused to record this project's events (incident since "
            f"{found[0]['since']}). It is kept and will be recorded once an operator has mended the store; there is "
            "no need to repeat it.", {"incident": {k: found[0][k] for k in ("seq", "since")}})

    def incidents(self, actor: Actor) -> list[dict[str, Any]]:
        """Open incidents of the projects the actor may see (operators: all)."""
        visible = None if actor.role == "auditor" else {p["id"] for p in self.list_projects(actor)}
        return [i for i in store_incidents(self.engine) if visible is None or i["project_id"] in visible]

    async def retry_incident(self, actor: Actor, project_id: str) -> dict[str, Any]:
        """Try the refused write again (after the store was mended); returns the workflow's progress."""
        project = self._project(actor, project_id)
        access.check_may_operate(actor, project)
        handle = self.client.get_workflow_handle(workflow_id(project_id))
        deadline = asyncio.get_running_loop().time() + self.update_timeout

        async def call(rpc_timeout: timedelta) -> dict[str, Any]:
            result: dict[str, Any] = await handle.execute_update(ProjectWorkflow.retry_writes,
                                                                 rpc_timeout=rpc_timeout)
            return result

        try:
            return await call_until(deadline, call, waiting_for="the retried write")
        except WorkflowUpdateFailedError as exc:
            raise _update_error(exc) from None

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
        result = audit.verify_anchored(iter_events(self.engine, project_id), project)
        for incident in store_incidents(self.engine, project_id):
            result["problems"].append({"seq": incident["seq"], "reason": (
                f"incident since {incident['since']}: the store refused this event and those after it, which the "
                f"workflow holds ({incident['reason'][:200]})")})
            result["ok"] = False
        return result

    async def verify_against_history(self, actor: Actor, project_id: str) -> dict[str, Any]:
        """Compare the trail with the workflow's own events and the updates in its history."""
        result = self.verify(actor, project_id)
        stored = list(iter_events(self.engine, project_id))
        result["history"] = await audit.compare_with_history(self.client, project_id, stored)
        result["problems"] += [p for p in result["history"]["problems"] if p not in result["problems"]]
        result["ok"] = not result["problems"]
        return result

    def verifiable_projects(self, actor: Actor) -> list[dict[str, Any]]:
        """The projects whose trail the actor may verify (auditors: all; coordinators: led ones)."""
        return [p for p in self.list_projects(actor) if access.may_verify(actor, p)]

    def user_emails(self) -> dict[str, str]:
        return accounts.emails_by_user_id(self.engine)


def _update_error(exc: WorkflowUpdateFailedError) -> Exception:
    """The domain error a rejected or failed update carries, or the failure as it is."""
    cause = exc.cause
    if isinstance(cause, ApplicationError) and cause.type:
        details = cause.details[0] if cause.details else None
        if cause.type == StoreUnavailable.code:
            return StoreUnavailable(cause.message, details)
        return error_from_code(cause.type, cause.message, details)
    return exc


def _moment(text: str | None, field: str) -> str | None:
    """An ISO 8601 moment in the events' own representation, for comparing with ``at``."""
    if text is None:
        return None
    try:
        return format_time(parse_time(text))
    except ValueError:
        raise InvalidRequest(f"'{text}' is not an ISO 8601 moment such as 2027-03-01T12:00:00Z.",
                             {field: "invalid"}) from None
