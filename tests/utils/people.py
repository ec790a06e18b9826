"""More people in a demo organisation, for the tests of holders and substitutes.

Each test adds its own (unique e-mails) and removes them at its end, directly in the store: the other tests,
which share the store, count the mails of an organisation's people and must not find these."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from services.seed import DEMO_PASSWORD
from store import accounts


@dataclass(frozen=True)
class Colleague:
    email: str
    user_id: str
    name: str
    token: str


def add_colleagues(engine: Engine, org: str, names: list[str], role: str = "partner") -> list[Colleague]:
    found = []
    for name in names:
        email = f"{name.split()[0].lower()}-{uuid.uuid4().hex[:8]}@{org}.example"
        user, token = accounts.add_user(engine, email=email, org_id=org, role=role, name=name,
                                        password=DEMO_PASSWORD, lang="en")
        found.append(Colleague(user.email, user.id, name, token))
    return found


def colleagues_for_a_test() -> tuple[Callable[..., list[Colleague]], Callable[[], None]]:
    """``add(engine, org, names)`` for a test, and what removes them at its end (the fixture ``colleagues_of``)."""
    added: list[tuple[Engine, str]] = []

    def add(engine: Engine, org: str, names: list[str], role: str = "partner") -> list[Colleague]:
        people = add_colleagues(engine, org, names, role)
        added.extend((engine, p.email) for p in people)
        return people

    def remove() -> None:
        for engine, email in added:
            if accounts.user_by_email(engine, email).status != "removed":
                accounts.set_status(engine, email, "removed")

    return add, remove
