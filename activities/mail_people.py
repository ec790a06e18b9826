"""Mail about a task one person holds goes to that person, and on the days of their absence to their
substitute too, instead of to everyone of the organisation that owes it.

Whether a substitute stands in is decided by the day of the event's own ``at`` (UTC), not by the clock when
the mail is written: the same events always give the same mails (and a test on the time-skipping server
sees the window open and close on its own days).

| event | mail | to |
|---|---|---|
| TaskHeld, given by someone else | task_handed | the new holder |
| TaskHeld, its holder removed from the organisation | task_freed | everyone of the organisation |
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.engine import Connection

from domain import Event, holder_of
from store.outbox import Person
from store.people import names_in, substitutes_of

# the mails about one task, which its holder (and their substitute) gets instead of the whole organisation
HELD_MAILS = frozenset({"task_opened", "reminder", "overdue", "deadline_extended", "task_superseded", "task_handed"})
PERSON = "user:"  # the key of a person's name among the names a mail may use (organisations' are their ids)


def held_recipients(to: list[Person], task: dict[str, Any] | None, at: str,
                    substitutes: dict[str, tuple[str, str, str]]) -> list[Person]:
    """Of ``to`` (the organisation's people), the holder and, if ``at`` falls on a day of their absence, their
    substitute. A task nobody holds, or whose holder gets no mail any more (disabled), goes to everyone."""
    held = holder_of(task)
    if held is None:
        return to
    wanted = {held}
    substitute = substitutes.get(held)
    if substitute is not None and substitute[1] <= at[:10] <= substitute[2]:
        wanted.add(substitute[0])
    return [p for p in to if p.id in wanted] or to


def people_facts(conn: Connection, events: Iterable[Event], tasks: Iterable[dict[str, Any]]
                 ) -> tuple[dict[str, tuple[str, str, str]], dict[str, str]]:
    """The substitutes of the batch's holders, and the names of the people its hand-overs name (keyed
    ``user:<id>``)."""
    substitutes = substitutes_of(conn, {h for t in tasks if (h := holder_of(t))})
    named = {u for e in events if e.type == "TaskHeld"
             for u in (e.actor.user if e.actor else None, e.data.get("from")) if u}
    return substitutes, {PERSON + k: v for k, v in names_in(conn, named).items()}
