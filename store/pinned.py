"""Each project's template exactly as the project pinned it: the copy its first event recorded.

A template file edited in place (the same id and version) must change nothing for projects that started
with the earlier text: the workflow decides with its own copy, and so do the checks, the redaction and the
mail, which read it here. Copies are told apart by their digest (the SHA-256 of their canonical JSON), so
two projects pinned to two texts of one id and version each get their own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy.engine import Engine

from domain import Template
from domain.tally import template_digest
from store.audit import iter_events

__all__ = ["PinnedTemplates", "template_digest"]

KEPT_PROJECTS = 20_000  # projects whose digest is remembered (40 bytes each); the templates themselves are few


class PinnedTemplates:
    """The pinned template of a project, read once from its first event (which never changes)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._digests: OrderedDict[str, str] = OrderedDict()  # project id -> digest, the most recent last
        self._templates: dict[str, Template] = {}  # digest -> template
        self._lock = threading.Lock()

    def of(self, project_id: str, first_event: dict[str, Any] | None = None) -> Template:
        """The project's pinned template; ``first_event`` (its data) when the caller holds it already."""
        with self._lock:
            digest = self._digests.get(project_id)
            if digest is not None:
                self._digests.move_to_end(project_id)
                return self._templates[digest]
        data = first_event if first_event is not None else next(iter_events(self._engine, project_id, batch=1))["data"]
        digest = template_digest(data["template"])
        with self._lock:
            if digest not in self._templates:
                self._templates[digest] = Template.model_validate(data["template"])
            self._digests[project_id] = digest
            if len(self._digests) > KEPT_PROJECTS:
                self._digests.popitem(last=False)
            return self._templates[digest]
