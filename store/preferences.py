"""A person's own settings: how mail comes (each event, or a daily digest), its language and timezone.

The language is the user's one ``lang`` (also their pages' after log-in, see ``accounts.set_lang``)."""

from __future__ import annotations

import functools
import zoneinfo
from typing import Any

from sqlalchemy.engine import Engine

from domain import InvalidRequest, NotFound
from store.accounts import LANGS
from store.db import session
from store.models import User

MAIL = ("immediate", "daily")


@functools.cache
def timezones() -> frozenset[str]:
    """Every IANA timezone name this machine knows (the ``tzdata`` package: the same everywhere)."""
    return frozenset(zoneinfo.available_timezones() | {"UTC"})


def is_timezone(name: object) -> bool:
    return isinstance(name, str) and name in timezones()


def preferences_of(user: User) -> dict[str, str]:
    return {"mail": user.mail, "lang": user.lang, "timezone": user.timezone}


def check_preferences(mail: Any = None, lang: Any = None, timezone: Any = None) -> None:
    """Each value given must be one of its choices; every bad one is named, and nothing is changed."""
    bad: dict[str, str] = {}
    if mail is not None and mail not in MAIL:
        bad["mail"] = f"must be one of: {', '.join(MAIL)}"
    if lang is not None and lang not in LANGS:
        bad["lang"] = f"must be one of: {', '.join(LANGS)}"
    if timezone is not None and not is_timezone(timezone):
        bad["timezone"] = "must be an IANA timezone name such as Europe/Belgrade"
    if bad:
        raise InvalidRequest(f"These preferences cannot be taken: {', '.join(bad)} (see details).", bad)


def set_preferences(engine: Engine, user_id: str, *, mail: str | None = None, lang: str | None = None,
                    timezone: str | None = None) -> dict[str, str]:
    """Change those given (None: as it was); returns all of them."""
    check_preferences(mail, lang, timezone)
    with session(engine) as s:
        user = s.get(User, user_id)
        if user is None:
            raise NotFound(f"There is no user with id {user_id}.", {"user": "unknown"})
        user.mail = mail or user.mail
        user.lang = lang or user.lang
        user.timezone = timezone or user.timezone
        s.add(user)
        s.commit()
        return preferences_of(user)
