"""Use cases: starting, listing and showing projects."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from domain import Actor, DomainError, InvalidRequest, ProjectState, StartProject, decide
from domain.checks import check_kind, check_partners, check_storable, check_title
from domain.limits import MAX_KEY_CHARS
from services import access
from services.base import AppBase, update_error
from services.temporal import call_until
from store import accounts, read, web_state
from workflows import ProjectInput, ProjectWorkflow, workflow_id
from workflows.inputs import LEAD, PHASE, STATUS
from workflows.templates import remember


class Projects(AppBase):
    async def start_project(self, actor: Actor, *, title: str, partners: list[str], template: str = "cooperation",
                            parameters: dict[str, Any] | None = None, history_limit: int | None = None,
                            request_id: str | None = None) -> dict[str, Any]:
        """Start a project led by the actor's organisation; returns it once it is in the store.

        With ``request_id`` (an Idempotency-Key) a repeat of the same request finds the project
        the first one started instead of starting a second.
        """
        prepared = await asyncio.to_thread(self._prepare_start, actor, title, partners, template, parameters,
                                           request_id)
        if isinstance(prepared, dict):
            return prepared  # the first answer
        command = prepared
        assert command.template is not None
        first_phase = command.template.phases[0].key
        attributes = TypedSearchAttributes([
            SearchAttributePair(PHASE, first_phase),
            SearchAttributePair(STATUS, "active"), SearchAttributePair(LEAD, actor.org)])
        deadline = asyncio.get_running_loop().time() + self.update_timeout

        async def call(rpc_timeout: timedelta) -> dict[str, Any]:
            start = WithStartWorkflowOperation(
                ProjectWorkflow.run, ProjectInput(start=by_reference(command), history_limit=history_limit,
                                                  write_timeout=self.write_timeout),
                id=workflow_id(command.project_id), task_queue=self.task_queue, search_attributes=attributes,
                task_timeout=timedelta(seconds=self.workflow_task_timeout),
                # a retry of this call (or of the same Idempotency-Key) joins the workflow it started;
                # a closed one is never started again under the same id
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
            result: dict[str, Any] = await self.client.execute_update_with_start_workflow(
                ProjectWorkflow.sync, start_workflow_operation=start, id=f"start-{command.project_id}",
                rpc_timeout=rpc_timeout)
            return result

        try:
            await call_until(deadline, call, waiting_for="the start of the project")
        except WorkflowAlreadyStartedError:  # started and closed already: the store has it
            pass
        except WorkflowUpdateFailedError as exc:
            raise update_error(exc) from None
        return await asyncio.to_thread(self.show_project, actor, command.project_id)

    def _prepare_start(self, actor: Actor, title: str, partners: list[str], template: str,
                       parameters: dict[str, Any] | None, request_id: str | None) -> StartProject | dict[str, Any]:
        """Every check a start passes before Temporal sees it (in a thread: it reads the store); the
        command, or the project a repeat of the same request started."""
        access.check_may_start(actor)
        check_kind("title", title, str, "a text")
        check_title(title)
        check_kind("template", template, str, "a template id")
        check_kind("parameters", parameters, dict | None, "an object of names and values")
        check_kind("request_id", request_id, str | None, "a text")
        check_partners(actor.org, partners)
        unknown = sorted(set(partners) - accounts.existing_orgs(self.engine, partners))
        if unknown:
            raise InvalidRequest(f"Unknown partner organisation(s): {', '.join(unknown)}.", {"partners": unknown})
        auditing = sorted(accounts.auditor_orgs(self.engine, partners))
        if auditing:
            raise InvalidRequest(f"An auditing organisation cannot be a partner: {', '.join(auditing)}.",
                                 {"partners": auditing})
        fresh = False
        if request_id is not None:
            check_storable("request_id", request_id, MAX_KEY_CHARS, InvalidRequest)
            fresh = self._claim(actor, "start", request_id, {"template": template, "title": title,
                                                             "partners": partners, "parameters": parameters})
            claimed = web_state.key_claimed_at(self.engine, user_id=actor.user, route="start", key=request_id)
            project_id = hashlib.sha256(f"start\0{actor.user}\0{request_id}\0{claimed!r}".encode()).hexdigest()[:12]
            if not fresh and read.get_project(self.engine, project_id) is not None:
                return self.show_project(actor, project_id)
        else:
            project_id = uuid.uuid4().hex[:12]
        try:
            # its personal values, if its template has any, come sealed (services/sealing.py)
            command = StartProject(project_id=project_id, title=title, template=self.templates.latest(template),
                                   lead=actor.org, partners=partners, parameters=parameters or {}, actor=actor,
                                   sealed=True)
            decide(ProjectState(), command, datetime.now(UTC))  # refuse bad input before Temporal sees it
        except DomainError:
            if fresh:  # nothing happened: the key may be used again
                web_state.release_key(self.engine, user_id=actor.user, route="start", key=str(request_id))
            raise
        return command

    def partner_candidates(self, actor: Actor) -> list[dict[str, str]]:
        """Organisations a project led by the actor's organisation may invite (not itself, not auditors)."""
        return [o.model_dump() for o in accounts.partner_candidates(self.engine, lead=actor.org)]


def by_reference(command: StartProject) -> StartProject:
    """The start as Temporal gets it: the template's id, version and digest, not its 18 KB (the worker has the
    template; one in this process finds it here); and since v1.4 its first event names the template by digest
    too (the store keeps the text once). The choice travels in the workflow's input, so a replayed history
    decides as its run did, without a ``workflow.patched`` (a run begun by reference asks none)."""
    assert command.template is not None
    return command.model_copy(update={"template": None, "template_ref": remember(command.template),
                                      "digest_in_first_event": True})
