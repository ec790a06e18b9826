"""Use cases: the inbox, and completing a task."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any, NamedTuple

import structlog

from domain import (
    Actor,
    CompleteTask,
    DomainError,
    InvalidData,
    InvalidRequest,
    NotFound,
    TaskClosed,
    error_from_code,
)
from domain.checks import check_completion, check_kind, check_may_complete, check_storable
from domain.limits import MAX_KEY_CHARS, shown
from services import access, holders
from services.base import TASK_ID, check_project_id, personal_state, task_state
from services.documents import resolve_documents
from services.metrics import COMPLETIONS, REFUSALS
from services.naming import names_the_orgs, org_ids
from services.personal import PersonalData
from services.sealing import KeyNeeded
from services.temporal import TemporalUnavailable
from services.updates import send_update, update_id
from store import StoreUnavailable, accounts, people, read, web_state
from workflows import ProjectWorkflow, workflow_id


class Prepared(NamedTuple):
    """A completion checked: the command to send Temporal, or the first answer to a repeat of it."""

    project: dict[str, Any]
    route: str  # of its Idempotency-Key
    fresh: bool  # its key was claimed now
    command: CompleteTask | None = None
    answer: dict[str, Any] | None = None


class Tasks(PersonalData):
    async def complete_task(self, actor: Actor, project_id: str, task_id: str, *, data: Any = None,
                            outcome: str | None = None, comment: str | None = None,
                            request_id: str | None = None, via: str | None = "api") -> dict[str, Any]:
        """Complete a task; returns it once its events are in the store.

        ``request_id`` (an Idempotency-Key) is the Temporal update id as well: a repeat while the
        first is under way joins it, and a repeat after it answers as it did. Personal values are sealed
        before Temporal sees them; the answer shows them opened (``via``: who is shown it, see
        ``show_project``; None: nobody, they stay sealed).
        """
        with structlog.contextvars.bound_contextvars(project_id=project_id, task_id=task_id,
                                                     workflow_id=workflow_id(project_id)):
            answer, project = await self._complete_task(actor, project_id, task_id, data, outcome, comment,
                                                        request_id)
            answer = holders.named(self.engine, [answer])[0]
            if via is None or not self.template_of(project).has_personal_fields():
                return answer
            return await asyncio.to_thread(self.open_task, actor, project, answer, via)

    async def _complete_task(self, actor: Actor, project_id: str, task_id: str, data: Any, outcome: str | None,
                             comment: str | None, request_id: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
        # without an Idempotency-Key the checks only read (``read_store``: on the event loop for SQLite), unless a
        # subject's first personal value makes its data key; with a key, they claim it: both writes, in a thread
        args = (actor, project_id, task_id, data, outcome, comment, request_id)
        try:
            prepared = None
            if request_id is None:
                try:
                    prepared = await self.read_store(self._prepare_completion, *args, may_write=False)
                except KeyNeeded:
                    pass
            if prepared is None:
                prepared = await asyncio.to_thread(self._prepare_completion, *args)
        except DomainError as error:
            await self._count_refusal(project_id, task_id, error)
            raise
        project, route, fresh = prepared.project, prepared.route, prepared.fresh
        if prepared.command is None:
            assert prepared.answer is not None
            return prepared.answer, project  # a repeat: the first answer
        try:
            result = await self._complete(project_id, task_id, prepared.command)
        except DomainError as error:
            await self._count_refusal(project_id, task_id, error)
            if fresh and not isinstance(error, TemporalUnavailable | StoreUnavailable):  # refused: nothing happened
                await asyncio.to_thread(web_state.release_key, self.engine, user_id=actor.user, route=route,
                                        key=str(request_id))
            raise
        COMPLETIONS.labels(step=result["step"]).inc()
        return result, project

    async def _count_refusal(self, project_id: str, task_id: str, error: DomainError) -> None:
        try:
            found = await self.read_store(read.get_task, self.engine, project_id, task_id)
        except Exception:  # the store is away (or the ids are not even valid): counted without a step
            found = None
        REFUSALS.labels(step=found[1]["step"] if found else "unknown", code=error.code).inc()

    def _prepare_completion(self, actor: Actor, project_id: str, task_id: str, data: Any, outcome: str | None,
                            comment: str | None, request_id: str | None, may_write: bool = True) -> Prepared:
        """Every check a completion passes before Temporal sees it (it reads the store), and its personal
        values sealed: the command to send, or, for a repeat, the first answer."""
        check_kind("request_id", request_id, str | None, "a text")
        check_kind("outcome", outcome, str | None, "the name of an outcome", InvalidData)
        check_kind("comment", comment, str | None, "a text", InvalidData)
        check_storable("request_id", request_id, MAX_KEY_CHARS, InvalidRequest)
        check_project_id(project_id)
        if not TASK_ID.fullmatch(task_id):
            self._project(actor, project_id)
            raise NotFound(f"Project '{project_id}' has no task '{shown(task_id)}'.")
        found = read.get_task(self.engine, project_id, task_id)
        if found is None:
            self._project(actor, project_id)  # not found either way; this says which
            raise NotFound(f"Project '{project_id}' has no task '{task_id}'.")
        project, row = found
        access.check_may_see(actor, project, project_id)
        view = json.loads(row["view"])
        task = task_state(view)
        template = self.template_of(project)
        step = template.step(row["step"])
        check_may_complete(project["partners"], task, step, actor)  # whose task it is comes first
        personal = template.personal_fields(step.key)
        # one sealer for the completion: it reads (or makes) the subject's data key once
        sealed = bool(personal) and personal_state(project)["sealed"]
        sealer = self.sealer(project_id, may_write=may_write) if sealed else None
        route = f"complete {project_id}/{task_id}"
        # a request with personal values is fingerprinted with a key erased with them (never a plain hash)
        fresh = request_id is not None and self._claim(actor, route, request_id, {
            "data": data, "outcome": outcome, "comment": comment}, secret=sealer.fingerprint_key(
                template.subject_of(step.key, min(personal), task_id)) if sealer else None)
        if row["task_status"] != "open":
            # the store holds only what Temporal accepted (see workflows/writes.py), so this is
            # the answer the first request got
            if request_id is not None and row["request_id"] == request_id and (
                    view.get("completed_by") or {}).get("user") == actor.user:
                return Prepared(project, route, fresh, answer=dict(view))  # the same request again: nothing new
            raise TaskClosed(f"Task {task_id} ({row['step']}) is {row['task_status']} "
                             "and can no longer be completed.")
        try:
            if data is not None and not isinstance(data, dict):
                raise error_from_code("invalid_data", "The data must be an object of field names and values.",
                                      {"data": "must be an object"})
            if names_the_orgs(step):  # by name or by id: the domain keeps ids
                data = org_ids(step, data, {o.id: o.name for o in accounts.list_orgs(self.engine)})
            data = resolve_documents(self.engine, project_id, template, step, data, task_id,
                                     sealer)
            command = CompleteTask(task_id=task_id, actor=actor, data=data or {}, outcome=outcome,
                                   comment=comment, request_id=request_id, on_behalf_of_user=self._absent_holder(
                                       actor, task.held_by))
            # what the workflow's validator will say of the input, said here first: input Temporal cannot
            # take (too large, characters no encoder takes) must never reach it; personal values are
            # validated in clear, then sealed, and the sealed command checked again (its size)
            body = check_completion(project["partners"], task, step, command, now=datetime.now(UTC))
            if sealer is not None:
                command = command.model_copy(update={"data": self.seal_form(
                    sealer, template, step.key, task_id, body["form"], command.data)})
                check_completion(project["partners"], task, step, command, sealed=True)
        except DomainError:
            if fresh:
                web_state.release_key(self.engine, user_id=actor.user, route=route, key=str(request_id))
            raise
        return Prepared(project, route, fresh, command=command)

    def _absent_holder(self, actor: Actor, held_by: str | None) -> str | None:
        """The holder the actor completes a task for, as their substitute today; None when the actor acts
        for themselves (their own task, or one they may complete as anyone of the organisation may)."""
        if held_by is None or held_by == actor.user:
            return None
        return held_by if held_by in people.standing_in_for(self.engine, actor.user, holders.today()) else None

    async def _complete(self, project_id: str, task_id: str, command: CompleteTask) -> dict[str, Any]:
        """Send the completion to the project's workflow; its answer, once the events are stored."""
        def ended() -> Exception:
            return TaskClosed(f"Project '{project_id}' has ended; task {task_id} can no longer be completed.")

        answer: dict[str, Any] = await send_update(
            self.client, self.engine, project_id, ProjectWorkflow.complete_task, command,
            id=update_id("complete", command.actor.user, f"{project_id}/{task_id}", command.request_id),
            timeout=self.update_timeout, waiting_for=f"the completion of task {task_id}", ended=ended)
        return answer
