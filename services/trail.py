"""Use cases: the audit trail, its verification, and incidents."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from domain import Actor, InvalidRequest, format_time
from domain.tally import template_digest
from evidence.proofs import verify_anchored
from evidence.signing import kept_checkpoint_problems, signed_by
from services import access, history_check
from services.base import AppBase
from services.lists import event_filter
from services.updates import send_update, update_id
from services.verify_all import check_all, now, whole
from store import incidents as store_incidents
from store import iter_events, outbox, read
from store.checkpoints import checkpoints
from store.template_texts import first_event_problem
from store.trail_checks import keep_checks, keep_full_check
from workflows import ProjectWorkflow


class Trail(AppBase):
    def incidents(self, actor: Actor) -> list[dict[str, Any]]:
        """Open incidents of the projects the actor may see (operators: all)."""
        visible = None if actor.role == "auditor" else {p["id"] for p in self.list_projects(actor)}
        return [i for i in store_incidents(self.engine) if visible is None or i["project_id"] in visible]

    async def retry_incident(self, actor: Actor, project_id: str) -> dict[str, Any]:
        """Try the refused write again (after the store was mended); returns the workflow's progress."""
        project = self._project(actor, project_id)
        access.check_may_operate(actor, project)
        def ended() -> Exception:
            return InvalidRequest(f"Project {project_id}'s workflow has ended: there is no write to retry.",
                                  {"project": "ended"})

        progress: dict[str, Any] = await send_update(
            self.client, self.engine, project_id, ProjectWorkflow.retry_writes, id=update_id("retry", None),
            timeout=self.update_timeout, waiting_for="the retried write", ended=ended)
        return progress

    def list_events(self, actor: Actor, project_id: str, *, by_email: str | None = None, org: str | None = None,
                    type: str | None = None, since: str | None = None, until: str | None = None
                    ) -> Iterator[dict[str, Any]]:
        """The project's events in seq order, narrowed by the auditor's filters (personal fields left out
        for those who may not read them)."""
        project = self._project(actor, project_id)
        where = event_filter(self.engine, by_email=by_email, org=org, type=type, since=since, until=until)
        events = iter_events(self.engine, project_id, where)
        template = self.template_of(project)
        if access.may_verify(actor, project) or not template.has_personal_fields():
            return events
        project = read.get_project(self.engine, project_id, with_tasks=True) or project
        return access.redacted_events(actor, project, template, events)

    def verify(self, actor: Actor, project_id: str) -> dict[str, Any]:
        """The hash chain recomputed, its end checked against what the project recorded, and the trail against
        every checkpoint kept of it."""
        project = self._project(actor, project_id)
        access.check_may_verify(actor, project)
        return self.verified(project)

    def verified(self, project: dict[str, Any]) -> dict[str, Any]:
        """``verify`` once the actor may: from the first event, every time; what it finds replaces the kept check
        (docs/verification.md)."""
        project_id = project["id"]
        every = checkpoints(self.engine, project_id)
        streamed = whole(self.engine, project, now())  # the trail found whole, fast; else read and explained
        if streamed is not None:
            keep_checks(self.engine, [streamed[1]])
            unchecked = signed_by(every, self.verifier)[1]  # every signature, as below
            return {**streamed[0], **({"checkpoints_not_checked": unchecked} if unchecked else {})}
        events = list(iter_events(self.engine, project_id))
        result = verify_anchored(events, project)
        # every checkpoint kept, not only the latest: a rewrite signed afresh still differs from the older ones
        kept, unchecked = signed_by(every, self.verifier)
        result["problems"] += kept_checkpoint_problems(events, kept)
        if unchecked:  # signed by a key this process does not have: said, not counted as the trail's problem
            result["checkpoints_not_checked"] = unchecked
        pinned = first_event_problem(self.engine, events[0]["data"]) if events else None
        if pinned is not None:  # the template text the first event names by digest: missing, or altered
            result["problems"].append({"seq": 1, "reason": pinned})
        result["ok"] = not result["problems"]
        for incident in store_incidents(self.engine, project_id):
            result["problems"].append({"seq": incident["seq"], "reason": (
                f"incident since {incident['since']}: the store refused this event and those after it, which the "
                f"workflow holds ({incident['reason'][:200]})")})
            result["ok"] = False
        keep_full_check(self.engine, project_id, events, result["ok"], every[-1]["tree_size"] if every else None)
        return result

    def pinned_template(self, actor: Actor, project_id: str) -> dict[str, Any]:
        """The template the project started with (for whoever may see the project): its id, version, digest (the
        SHA-256 of its canonical JSON, as a first event names it) and the template itself. A text the store
        keeps by digest is given only once it hashes to it."""
        template = self.template_of(self._project(actor, project_id))
        text = template.model_dump(mode="json")
        return {"id": template.id, "version": template.version, "digest": template_digest(text), "template": text}

    async def verify_against_history(self, actor: Actor, project_id: str) -> dict[str, Any]:
        """Compare the trail with the workflow's own events and the updates in its history."""
        result = self.verify(actor, project_id)
        stored = list(iter_events(self.engine, project_id))
        result["history"] = await history_check.compare_with_history(self.client, project_id, stored)
        result["problems"] += [p for p in result["history"]["problems"] if p not in result["problems"]]
        result["ok"] = not result["problems"]
        return result

    def verify_all(self, actor: Actor, *, progress: Callable[[int], None] | None = None,
                   workers: int | None = None) -> dict[str, Any]:
        """Every project the actor may verify: ``{ok, projects, events, broken: [{project, title, ok, problems…}],
        partly_compared: []}``. Each trail streamed and checked in full, over the machine's cores; one that is
        not found whole goes through ``verify``, which says what is wrong (services/verify_all.py)."""
        projects = self.verifiable_projects(actor)
        found = check_all(self.engine, projects, now(), workers=workers, progress=progress)
        keep_checks(self.engine, [r[1] for r in found if r is not None])
        events, broken = 0, []
        for project, r in zip(projects, found, strict=True):
            answer = r[0] if r is not None else self.verified(project)
            events += answer["count"]
            if not answer["ok"]:
                broken.append({"project": project["id"], "title": project["title"], **answer})
        return {"ok": not broken, "projects": len(projects), "events": events, "broken": broken,
                "partly_compared": []}

    def verifiable_projects(self, actor: Actor) -> list[dict[str, Any]]:
        """The projects whose trail the actor may verify (auditors: all; coordinators: led ones)."""
        return [p for p in self.list_projects(actor) if access.may_verify(actor, p)]

    def mail(self, *, status: str | None = None, project_id: str | None = None, limit: int = 100
             ) -> list[dict[str, Any]]:
        """The outbox (operators): the newest ``limit`` mails with their state, newest first."""
        return outbox.list_mail(self.engine, status=status, project_id=project_id, limit=limit)

    def prune_mail(self, *, older_than_days: int, dry_run: bool = False) -> int:
        """Remove the mails sent more than ``older_than_days`` ago (operators: the CLI); returns how many
        (with ``dry_run``: how many would go). Mails waiting or failed stay."""
        if not 1 <= older_than_days <= 36500:
            raise InvalidRequest("Give the age in days, at least 1.", {"older_than_days": "at least 1"})
        cutoff = format_time(datetime.now(UTC) - timedelta(days=older_than_days))
        return outbox.prune_sent(self.engine, sent_before=cutoff, dry_run=dry_run)
