"""What decisions need to know of a project's closed tasks, and the reference to its template.

A project that runs for years closes thousands of tasks. The state a run hands to the next one
(continue-as-new) carries its open tasks, this tally and the template's reference, not the closed
tasks nor the template: those live in the store, and the worker finds the template by its digest.
Every rule that once read closed tasks reads the tally instead (``domain/progress.py``):

- the next task's id: how many tasks were ever opened;
- a loop-back's next round, an ``extend``'s next occurrence: the highest round and occurrence opened;
- whether a step has tasks in its current round, and whether they are all done: the highest round in
  which one of its tasks was completed or waived, and how many of its tasks are open, per round;
- whether a review has anything to review: the highest round in which each organisation completed
  a task of the reviewed step.

A few closed tasks are still read in full, and a continued run keeps them: the completions that name
a later step's assignees (their data), and the reports whose review is still open (a review that
asks for changes opens the report again, with its round and entry).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict


class TemplateRef(BaseModel):
    """A template as a project pinned it: id, version and the SHA-256 of its canonical JSON."""

    model_config = ConfigDict(frozen=True)
    id: str
    version: int
    digest: str


def template_digest(template: dict[str, Any]) -> str:
    """The digest of a template's JSON (as the first event of a project records it)."""
    text = json.dumps(template, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class Tally(BaseModel):
    """Counters over every task a project ever opened; the fold keeps them (``domain/evolve.py``)."""

    opened: int = 0  # tasks opened: the next one is t<opened + 1>
    rounds: dict[str, int] = {}  # per step: the highest round a task of it opened in
    occurrences: dict[str, int] = {}  # per step: the highest occurrence a task of it opened for
    done: dict[str, int] = {}  # per step: the highest round of a completed or waived task
    completed_by: dict[str, dict[str, int]] = {}  # per step, per organisation: the highest round it completed
    open: dict[str, dict[int, int]] = {}  # per step, per round: how many of its tasks are open

    def copied(self) -> Tally:
        """A copy whose dicts the fold may change (``completed_by``'s inner dicts are replaced, never changed)."""
        return self.model_copy(update={"rounds": dict(self.rounds), "occurrences": dict(self.occurrences),
                                       "done": dict(self.done), "completed_by": dict(self.completed_by),
                                       "open": dict(self.open)})

    def open_from(self, step: str, floor: int) -> bool:
        """Whether a task of ``step`` in round ``floor`` or later is open."""
        return any(count > 0 for round_, count in self.open.get(step, {}).items() if round_ >= floor)

    def count_opened(self, step: str, round_: int, occurrence: int | None) -> None:
        self.opened += 1
        by_round = self.open.get(step, {})
        self.open[step] = {**by_round, round_: by_round.get(round_, 0) + 1}
        self.rounds[step] = max(self.rounds.get(step, 0), round_)
        if occurrence is not None:
            self.occurrences[step] = max(self.occurrences.get(step, 0), occurrence)

    def count_closed(self, step: str, round_: int, status: str, org: str) -> None:
        if status == "open":
            return
        by_round = {**self.open.get(step, {})}
        by_round[round_] -= 1
        self.open[step] = {r: n for r, n in by_round.items() if n}
        if status not in ("completed", "waived"):
            return  # a superseded task counts for nothing
        self.done[step] = max(self.done.get(step, 0), round_)
        if status == "completed":
            by_org = self.completed_by.get(step, {})
            self.completed_by[step] = {**by_org, org: max(by_org.get(org, 0), round_)}

    @classmethod
    def of_tasks(cls, tasks: Iterable[Any]) -> Tally:
        """The tally of a state that still holds every task (a run continued by an earlier version)."""
        tally = cls()
        for task in tasks:
            tally.count_opened(task.step, task.round, task.occurrence)
            tally.count_closed(task.step, task.round, task.status, task.slot_org())
        return tally
