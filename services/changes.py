"""Use cases: changes to a running project, and a partner's request for more time."""

from __future__ import annotations

import asyncio
from typing import Any

from domain import Actor, ChangeProject, DomainError, InvalidRequest, RequestExtension, TaskClosed
from domain.changes import check_may_change, check_reason
from domain.checks import check_kind, check_org_id, check_storable
from domain.limits import MAX_KEY_CHARS
from services.base import TASK_ID, AppBase
from services.metrics import CHANGES as CHANGE_COUNT
from services.temporal import TemporalUnavailable
from services.updates import send_update, update_id
from store import StoreUnavailable, accounts, web_state
from workflows import ProjectWorkflow

CHANGES = ("extend_deadline", "waive", "reassign", "add_partner", "withdraw_partner", "cancel")


class Changes(AppBase):
    async def change_project(self, actor: Actor, project_id: str, *, kind: str, reason: str,
                             task_id: str | None = None, due_at: str | None = None, org: str | None = None,
                             request_id: str | None = None, via: str | None = "api") -> dict[str, Any]:
        """A change by a coordinator of the lead organisation; returns the project once it is in the store
        (``via``: as ``show_project``)."""
        command = await asyncio.to_thread(self._prepare_change, actor, project_id, kind, reason, task_id, due_at, org)
        result = await self._send(actor, project_id, f"change {project_id}", request_id,
                                  ProjectWorkflow.change_project, command,
                                  {"kind": kind, "reason": reason, "task_id": task_id, "due_at": due_at, "org": org},
                                  via)
        CHANGE_COUNT.labels(kind=kind).inc()
        return result

    async def request_extension(self, actor: Actor, project_id: str, task_id: str, *, due_at: str, reason: str,
                                request_id: str | None = None, via: str | None = "api") -> dict[str, Any]:
        """A partner asks for more time; returns the project, with the coordinators' decision opened."""
        command = await asyncio.to_thread(self._prepare_extension, actor, project_id, task_id, due_at, reason)
        return await self._send(actor, project_id, f"extension {project_id}/{task_id}", request_id,
                                ProjectWorkflow.request_extension, command, {"due_at": due_at, "reason": reason}, via)

    def _prepare_change(self, actor: Actor, project_id: str, kind: str, reason: str, task_id: str | None,
                        due_at: str | None, org: str | None) -> ChangeProject:
        project = self._project(actor, project_id)
        check_may_change(project["lead"], actor)
        if project["status"] != "active":
            raise TaskClosed(f"Project '{project_id}' is {project['status']}: it can no longer change.")
        if kind not in CHANGES:
            raise InvalidRequest(f"'{kind}' is not a change; one of: {', '.join(CHANGES)}.", {"kind": "unknown"})
        for field, value in (("task_id", task_id), ("due_at", due_at), ("org", org)):
            check_kind(field, value, str | None, "a text")
            check_storable(field, value, 100, InvalidRequest)
        check_reason(reason)
        if task_id is not None and not TASK_ID.fullmatch(task_id):
            raise InvalidRequest(f"Project {project_id} has no task '{task_id}'.", {"task_id": "unknown"})
        if kind == "add_partner":
            check_org_id(org, "org")
            if not accounts.existing_orgs(self.engine, [str(org)]):
                raise InvalidRequest(f"There is no organisation '{org}'.", {"org": "unknown"})
            if accounts.auditor_orgs(self.engine, [str(org)]):
                raise InvalidRequest(f"'{org}' audits projects; it cannot be a partner.", {"org": "audits"})
        return ChangeProject(kind=kind, actor=actor, reason=reason, task_id=task_id, due_at=due_at, org=org)

    def _prepare_extension(self, actor: Actor, project_id: str, task_id: str, due_at: str,
                           reason: str) -> RequestExtension:
        project = self._project(actor, project_id)
        if project["status"] != "active":
            raise TaskClosed(f"Project '{project_id}' is {project['status']}: its tasks are closed.")
        check_kind("due_at", due_at, str, "an ISO 8601 moment")
        check_storable("due_at", due_at, 64, InvalidRequest)
        check_reason(reason)
        if not TASK_ID.fullmatch(task_id):
            raise InvalidRequest(f"Project {project_id} has no task '{task_id}'.", {"task_id": "unknown"})
        return RequestExtension(task_id=task_id, actor=actor, due_at=due_at, reason=reason)

    async def _send(self, actor: Actor, project_id: str, route: str, request_id: str | None, update: Any,
                    command: Any, request: dict[str, Any], via: str | None) -> dict[str, Any]:
        """The update, with its key claimed (a repeat joins the first; another body under it is refused)."""
        check_storable("request_id", request_id, MAX_KEY_CHARS, InvalidRequest)
        fresh = request_id is not None and await asyncio.to_thread(self._claim, actor, route, request_id, request)
        def ended() -> Exception:
            return TaskClosed(f"Project '{project_id}' has ended; it can no longer change.")

        try:
            await send_update(self.client, self.engine, project_id, update, command,
                              id=update_id(route.split()[0], actor.user, route, request_id),
                              timeout=self.update_timeout, waiting_for="the change", ended=ended)
        except DomainError as error:
            if fresh and not isinstance(error, TemporalUnavailable | StoreUnavailable):
                await asyncio.to_thread(web_state.release_key, self.engine, user_id=actor.user, route=route,
                                        key=str(request_id))
            raise
        return await asyncio.to_thread(self.show_project, actor, project_id, via=via)
