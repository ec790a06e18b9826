"""A task's holder as answers show it: ``{"user_id", "name"}`` or None, the name read from the store when the
task is shown (the trail and the read model keep only the opaque user id)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from domain import Actor, holder_of
from store import people


def today() -> str:
    """The day substitutes are decided by when a person acts (UTC)."""
    return datetime.now(UTC).date().isoformat()


def named(engine: Engine, tasks: list[dict[str, Any]], actor: Actor | None = None) -> list[dict[str, Any]]:
    """The tasks with their holders named; for ``actor``, an open task held by someone they substitute for
    today carries ``substitute_for`` (that person, named) too."""
    held_by = {h for t in tasks if (h := holder_of(t))}
    if not held_by:  # nobody holds any of them: nothing to read
        return [{**task, "holder": None} for task in tasks]
    absent = set(people.standing_in_for(engine, actor.user, today())) if actor is not None else set()
    names = people.names_of(engine, held_by)
    shown = []
    for task in tasks:
        held = holder_of(task)
        holder = {"user_id": held, "name": names.get(held, held)} if held else None
        task = {**task, "holder": holder}
        if held in absent and task.get("status") == "open":
            task["substitute_for"] = holder
        shown.append(task)
    return shown
