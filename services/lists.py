"""Use cases: the lists a page at a time (projects, the inbox, a trail's events), each behind a cursor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine

from domain import EVENT_TYPES, Actor, InvalidRequest
from domain.checks import check_org_id, check_storable
from domain.limits import shown
from services import access, holders
from services.base import AppBase, moment
from store import EventFilter, accounts, lists, people, read
from store.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, check_limit


class Lists(AppBase):
    def projects_page(self, actor: Actor, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT,
                      latest_changed: bool = False) -> Page[dict[str, Any]]:
        """A page of the projects the actor may see (as ``list_projects``): the earliest started first, or with
        ``latest_changed`` the latest changed first (the auditor's landing page)."""
        check_limit(limit)
        return lists.projects_page(self.engine, org=None if actor.role == "auditor" else actor.org,
                                   cursor=cursor, limit=limit, latest_changed=latest_changed)

    def inbox_page(self, actor: Actor, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT,
                   holder: str | None = None) -> Page[tuple[dict[str, Any], dict[str, Any]]]:
        """A page of the open tasks of the actor's organisation (auditors: auditor tasks), the earliest due
        first (an overdue task is due earliest), each with its project and its holder named: one query, whatever
        the organisation's past. ``holder`` "me": those the actor holds (or someone they substitute for today);
        "none": those nobody holds."""
        check_limit(limit)
        if holder not in (None, "me", "none"):
            raise InvalidRequest(f"'{shown(holder)}' is not a holder filter: me or none.", {"holder": "me or none"})
        held_by = None
        if holder == "me":
            held_by = [actor.user, *people.standing_in_for(self.engine, actor.user, holders.today())]
        page = lists.open_tasks_page(self.engine, org=actor.org, auditor=actor.role == "auditor", cursor=cursor,
                                     limit=limit, held_by=held_by, unheld=holder == "none")
        named = holders.named(self.engine, [task for task, _ in page.items], actor)
        return Page([(task, project) for task, (_, project) in zip(named, page.items, strict=True)], page.next,
                    page.previous)

    def tasks_page(self, actor: Actor, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT,
                   holder: str | None = None) -> Page[dict[str, Any]]:
        """``inbox_page`` without the projects: what ``GET /api/tasks`` answers."""
        page = self.inbox_page(actor, cursor=cursor, limit=limit, holder=holder)
        return Page([task for task, _ in page.items], page.next, page.previous)

    def task_assignees(self, actor: Actor, project_id: str, events: list[dict[str, Any]]) -> dict[str, str]:
        """Whom the tasks these events of the project name are assigned to (what the events' words say)."""
        self._project(actor, project_id)
        return lists.task_assignees(self.engine, project_id, (e["task_id"] for e in events if e.get("task_id")))

    def list_tasks(self, actor: Actor, limit: int | None = None, holder: str | None = None) -> list[dict[str, Any]]:
        """Every open task of the actor's organisation (auditors: auditor tasks), the earliest due first (the
        first ``limit`` only, if given; ``holder`` as for ``inbox_page``): what the command line lists."""
        return _every(lambda cursor, n: self.tasks_page(actor, cursor=cursor, limit=n, holder=holder), limit)

    def every_project(self, actor: Actor, limit: int | None = None) -> list[dict[str, Any]]:
        """Every project the actor may see, the earliest started first, as the API pages them (the first
        ``limit`` only, if given): what the command line lists."""
        return _every(lambda cursor, n: self.projects_page(actor, cursor=cursor, limit=n), limit)

    def events_page(self, actor: Actor, project_id: str, *, by_email: str | None = None, org: str | None = None,
                    type: str | None = None, since: str | None = None, until: str | None = None,
                    cursor: str | None = None, limit: int = DEFAULT_LIMIT, newest_first: bool = False
                    ) -> Page[dict[str, Any]]:
        """A page of the project's events in seq order (or the newest first), narrowed by the auditor's filters
        (as ``list_events``), personal fields left out for those who may not read them."""
        project = self._project(actor, project_id)
        where = event_filter(self.engine, by_email=by_email, org=org, type=type, since=since, until=until)
        check_limit(limit)
        page = lists.events_page(self.engine, project_id, where, cursor=cursor, limit=limit,
                                 newest_first=newest_first)
        template = self.template_of(project)
        if access.may_verify(actor, project) or not template.has_personal_fields():
            return page
        whole = read.get_project(self.engine, project_id, with_tasks=True) or project
        return Page(list(access.redacted_events(actor, whole, template, iter(page.items))), page.next,
                    page.previous)


def _every(fetch: Callable[[str | None, int], Page[dict[str, Any]]], limit: int | None) -> list[dict[str, Any]]:
    """The items of every page, or the first ``limit``: pages of MAX_LIMIT followed by their cursors."""
    if limit is not None and limit < 1:
        raise InvalidRequest("The limit must be at least 1.", {"limit": "at least 1"})
    found: list[dict[str, Any]] = []
    cursor = None
    while limit is None or len(found) < limit:
        page = fetch(cursor, MAX_LIMIT if limit is None else min(MAX_LIMIT, limit - len(found)))
        found += page.items
        if page.next is None:
            break
        cursor = page.next
    return found


def event_filter(engine: Engine, *, by_email: str | None = None, org: str | None = None, type: str | None = None,
                 since: str | None = None, until: str | None = None) -> EventFilter:
    """The auditor's filters checked (each bad one named) and put in the store's terms."""
    user = None
    if org is not None:
        check_org_id(org, "org")
    if type is not None and type not in EVENT_TYPES:
        raise InvalidRequest(f"'{shown(type)}' is not an event type; one of: {', '.join(EVENT_TYPES)}.",
                             {"type": "is not an event type"})
    if by_email is not None:
        check_storable("actor", by_email, 320, InvalidRequest)
        # an e-mail that is no user's filters like a user's who did nothing here (no user id is ""): the
        # answer, an empty list either way, tells a member nothing about which e-mails have accounts
        user = accounts.user_id_by_email(engine, by_email) or ""
    return EventFilter(actor_user=user, org=org, type=type, since=moment(since, "since"),
                       until=moment(until, "until", end=True))
