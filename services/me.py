"""Use cases of a person's own: their mail preferences, and their calendar feed.

Each acts on the caller alone (there is no one else's to ask for); the operator of the command line, who is
nobody, has neither. The feed itself is read without log-in: its secret is the credential.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from domain import Actor, InvalidRequest, NotFound, format_time
from services.base import AppBase
from services.calendar_feed import feed
from store import accounts
from store.calendar import feed_created, feed_owner, new_feed, revoke_feed
from store.models import User
from store.person_tasks import open_tasks_of_person, with_titles
from store.preferences import preferences_of, set_preferences


class Me(AppBase):
    def _me(self, actor: Actor) -> User:
        """The caller's own account: an active user (not the operator)."""
        user = accounts.user_by_id(self.engine, actor.user)
        if user is None or user.status != "active":
            raise InvalidRequest("Preferences and calendars are a user's own: act as one (--as EMAIL).",
                                 {"as": "is required"})
        return user

    def preferences(self, actor: Actor) -> dict[str, str]:
        """How the caller's mail comes (``immediate`` or ``daily``), its language and timezone."""
        return preferences_of(self._me(actor))

    def set_preferences(self, actor: Actor, *, mail: str | None = None, lang: str | None = None,
                        timezone: str | None = None) -> dict[str, str]:
        """Change those given; a bad one is named and nothing changes. Returns them all."""
        return set_preferences(self.engine, self._me(actor).id, mail=mail, lang=lang, timezone=timezone)

    def calendar(self, actor: Actor) -> dict[str, Any]:
        """Whether the caller has a calendar feed, and since when (its URL was shown once, when made)."""
        created = feed_created(self.engine, self._me(actor).id)
        return {"active": created is not None, "created_at": created}

    def renew_calendar(self, actor: Actor, *, public_url: str) -> dict[str, str]:
        """A new secret URL for the caller's calendar feed (shown this once); the one before stops working."""
        secret = new_feed(self.engine, self._me(actor).id, now=format_time(datetime.now(UTC)))
        return {"url": f"{public_url.rstrip('/')}/calendar/{secret}.ics"}

    def revoke_calendar(self, actor: Actor) -> bool:
        """The caller's feed answers 404 from now on; whether there was one."""
        return revoke_feed(self.engine, self._me(actor).id)

    def calendar_feed(self, secret: str, *, public_url: str) -> bytes:
        """The RFC 5545 calendar of the open tasks of the person whose feed has this secret; NotFound for a
        secret that is unknown, revoked, or whose person can no longer log in."""
        owner = feed_owner(self.engine, secret)
        user = accounts.user_by_id(self.engine, owner) if owner else None
        if user is None or user.status != "active":
            raise NotFound("There is no such calendar (its address may have been renewed or revoked).")
        tasks = open_tasks_of_person(self.engine, user_id=user.id, org=user.org_id, role=user.role)
        titled = with_titles(self.engine, tasks, lang=user.lang, templates=self._pinned)
        return feed(titled, base_url=public_url, host=urlsplit(public_url).hostname or "coopflow",
                    now=datetime.now(UTC))
