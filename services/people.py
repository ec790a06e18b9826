"""Use cases: people inside an organisation — who holds a task, and who substitutes for whom while away.

A task is owed by an organisation; one of its people may hold it (``TaskHeld`` in the trail, through the
project's workflow). A person names a colleague as substitute between two days (UTC dates, both included):
then the substitute sees the person's held tasks among their own, may complete them (the completion records
``on_behalf_of_user``), and gets the mail about them.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime
from typing import Any

from domain import Actor, HoldTask, InvalidRequest, NotFound, TaskClosed, format_time, holder_of
from domain.limits import shown
from services import access
from services.base import TASK_ID, AppBase, check_project_id
from services.holders import today
from services.updates import send_update, update_id
from store import accounts, people, read, web_state
from store.models import User
from workflows import ProjectWorkflow

DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class People(AppBase):
    # -- holding a task --------------------------------------------------------------------------
    async def hold_task(self, actor: Actor, project_id: str, task_id: str, user: str | None,
                        via: str | None = "api") -> dict[str, Any]:
        """``user`` (an e-mail) holds the task from now on, or nobody (None); returns the task once the
        hand-over is in the store."""
        command = await asyncio.to_thread(self._prepare_hold, actor, project_id, task_id, user)

        def ended() -> Exception:
            return TaskClosed(f"Project '{project_id}' has ended; task {task_id} can no longer be held.")

        await send_update(self.client, self.engine, project_id, ProjectWorkflow.hold_task, command,
                          id=update_id("hold", actor.user, f"{project_id}/{task_id}", None),
                          timeout=self.update_timeout, waiting_for=f"the hand-over of task {task_id}", ended=ended)
        tasks = await asyncio.to_thread(self.show_project, actor, project_id, via=via)
        return next(t for t in tasks["tasks"] if t["id"] == task_id)

    def _prepare_hold(self, actor: Actor, project_id: str, task_id: str, user: str | None) -> HoldTask:
        check_project_id(project_id)
        found = read.get_task(self.engine, project_id, task_id) if TASK_ID.fullmatch(task_id) else None
        if found is None:
            self._project(actor, project_id)
            raise NotFound(f"Project '{project_id}' has no task '{shown(task_id)}'.")
        access.check_may_see(actor, found[0], project_id)
        holder = None
        if user is not None:
            person = self._colleague(user, "user")
            holder = Actor.model_validate({"user": person.id, "org": person.org_id, "role": person.role})
        return HoldTask(task_id=task_id, actor=actor, holder=holder)

    def _colleague(self, email: object, field: str) -> User:
        """The active user with this e-mail, or a refusal naming ``field``."""
        if not isinstance(email, str) or not email.strip() or len(email) > 320:
            raise InvalidRequest("Name a person by their e-mail address.", {field: "must be an e-mail address"})
        try:
            person = accounts.user_by_email(self.engine, email)
        except NotFound:
            raise InvalidRequest(f"There is no user with the e-mail {shown(email)}.", {field: "is no user"}) from None
        if person.status != "active":
            raise InvalidRequest(f"{person.email} is {person.status}: they cannot take work.",
                                 {field: f"is {person.status}"})
        return person

    async def free_tasks_of(self, user_id: str) -> int:
        """Every open task the person holds becomes nobody's (a ``TaskHeld`` each, by the system, and the
        organisation is told by mail); returns how many. Asked again, it frees what is left."""
        freed = 0
        for project_id, task_id in await asyncio.to_thread(people.held_open_tasks, self.engine, user_id):
            command = HoldTask(task_id=task_id, actor=None, release_of=user_id)
            answer = await send_update(self.client, self.engine, project_id, ProjectWorkflow.hold_task, command,
                                       id=update_id("free", user_id, f"{project_id}/{task_id}", None),
                                       timeout=self.update_timeout, waiting_for=f"freeing task {task_id}",
                                       ended=None)
            freed += answer is not None and holder_of(answer) is None
        return freed

    def remove_person(self, email: str) -> dict[str, Any]:
        """Remove a user (as ``remove_user``: no log-in, password and token erased, every session ended) and end
        their substitutions; the open tasks they held are freed by ``free_tasks_of`` (which needs Temporal)."""
        user = accounts.set_status(self.engine, email, "removed")
        ended = web_state.end_sessions_of(self.engine, user.id)
        people.end_substitutes(self.engine, user.id, also_as_substitute=True)
        return {"user_id": user.id, "sessions_ended": ended,
                "held": len(people.held_open_tasks(self.engine, user.id))}

    def people_names(self, events: list[dict[str, Any]]) -> dict[str, str]:
        """The names of the persons the events' hand-overs and substitutes' completions name, by user id."""
        return people.names_of(self.engine, {str(v) for e in events for k, v in (e.get("data") or {}).items()
                                             if v and (k in ("holder", "on_behalf_of_user")
                                                       or (k == "from" and e.get("type") == "TaskHeld"))})

    def holder_choices(self, actor: Actor, project: dict[str, Any], task: dict[str, Any]) -> list[dict[str, str]]:
        """Whom the actor may hand the open task to, by name: the people of the organisation that owes it (for
        a coordinator step, its coordinators) when the actor is one of them or a coordinator of the lead;
        otherwise nobody. The workflow decides in the end; this only fills a page's choice."""
        owner = task["assignee"] if task["assignee"] not in ("auditor", "any_partner") else actor.org
        lead = actor.role == "coordinator" and actor.org == project["lead"]
        if task.get("status") != "open" or not (actor.org == owner or lead):
            return []
        step = self.template_of(project).step(task["step"])
        roles = ("coordinator",) if step.assignee == "coordinator" else (
            ("auditor",) if task["assignee"] == "auditor" else ("coordinator", "partner"))
        return [p for p in people.colleagues(self.engine, owner) if p["role"] in roles]

    def colleagues(self, actor: Actor) -> list[dict[str, str]]:
        """The active people of the actor's organisation (names and e-mails), for pages' choices."""
        return people.colleagues(self.engine, actor.org)

    # -- substitutes -----------------------------------------------------------------------------
    def substitute(self, actor: Actor) -> dict[str, Any] | None:
        """The actor's substitute as named, or None."""
        row = people.substitute_of(self.engine, actor.user)
        if row is None:
            return None
        user = accounts.user_by_id(self.engine, row["substitute_id"])
        email, name = (user.email, people.display_name(user.name, user.email)) if user else ("", row["substitute_id"])
        return {"user": email, "user_id": row["substitute_id"], "name": name, "from": row["starts_on"],
                "until": row["ends_on"], "active": row["starts_on"] <= today() <= row["ends_on"]}

    def set_substitute(self, actor: Actor, *, user: object, starts: object, ends: object) -> dict[str, Any]:
        """Name a colleague who stands in from ``starts`` to ``ends`` (YYYY-MM-DD, both included, UTC)."""
        first, last = _day(starts, "from"), _day(ends, "until")
        if last < first:
            raise InvalidRequest("The last day of the absence comes before its first.", {"until": "is before from"})
        if last.isoformat() < today():
            raise InvalidRequest("That absence is over already: its last day has passed.", {"until": "is in the past"})
        person = self._colleague(user, "user")
        if person.id == actor.user:
            raise InvalidRequest("Name a colleague, not yourself.", {"user": "is you"})
        if person.org_id != actor.org:
            raise InvalidRequest(f"{person.email} is not a person of your organisation.",
                                 {"user": "is not of your organisation"})
        people.set_substitute(self.engine, user_id=actor.user, substitute_id=person.id,
                              starts_on=first.isoformat(), ends_on=last.isoformat(), at=format_time(datetime.now(UTC)))
        found = self.substitute(actor)
        assert found is not None
        return found

    def end_substitute(self, actor: Actor) -> bool:
        """The actor's substitute ends now; False when there was none."""
        return people.end_substitutes(self.engine, actor.user) > 0


def _day(value: object, field: str) -> date:
    if not isinstance(value, str) or not DAY.fullmatch(value):
        raise InvalidRequest(f"'{shown(value)}' is not a day such as 2027-08-01.", {field: "must be YYYY-MM-DD"})
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"'{value}' is not a day of the calendar.", {field: "is not a day"}) from None
