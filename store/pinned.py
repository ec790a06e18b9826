"""Each project's template exactly as the project pinned it: the copy its first event recorded, or, for a project
whose first event names its template by id, version and digest (``template_ref``), the text the store keeps by that
digest (``store/template_texts.py``), used only once it hashes to the digest.

A template file edited in place (the same id and version) must change nothing for projects that started
with the earlier text: the workflow decides with its own copy, and so do the checks, the redaction and the
mail, which read it here. Copies are told apart by their digest (the SHA-256 of their canonical JSON), so
two projects pinned to two texts of one id and version each get their own.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy.engine import Engine

from domain import Template
from domain.tally import TemplateRef, template_digest
from store.audit import iter_events
from store.template_texts import PinnedTextError, checked_template, stored_text, template_from

__all__ = ["PinnedTemplates", "PinnedTextError", "template_digest"]

KEPT_PROJECTS = 20_000  # projects whose digest is remembered (40 bytes each); the templates themselves are few


class PinnedTemplates:
    """The pinned template of a project, read once from its first event (which never changes)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._digests: OrderedDict[str, str] = OrderedDict()  # project id -> digest, the most recent last
        self._templates: dict[str, Template] = {}  # digest -> template
        self._lock = threading.Lock()

    def of(self, project_id: str, first_event: dict[str, Any] | None = None) -> Template:
        """The project's pinned template; ``first_event`` (its data) when the caller holds it already. A text
        the store keeps by digest that is missing or does not hash to it raises ``PinnedTextError``."""
        with self._lock:
            digest = self._digests.get(project_id)
            if digest is not None:
                self._digests.move_to_end(project_id)
                return self._templates[digest]
        data = first_event if first_event is not None else next(iter_events(self._engine, project_id, batch=1))["data"]
        if "template" in data:  # the whole template in the first event (projects started before digests)
            digest = template_digest(data["template"])
            load = functools.partial(Template.model_validate, data["template"])
        else:
            digest = data["template_ref"]["digest"]
            load = functools.partial(checked_template, self._engine, project_id, data["template_ref"])
        with self._lock:
            known = self._templates.get(digest)
        return self.keep(project_id, digest, known or load())

    def by_digest(self, project_id: str, ref: TemplateRef) -> Template | None:
        """The template the store keeps by ``ref``'s digest (checked), or None when it keeps no such text."""
        with self._lock:
            known = self._templates.get(ref.digest)
        if known is not None:
            return known
        body = stored_text(self._engine, ref.digest)
        if body is None:
            return None
        template = template_from(project_id, body, ref.model_dump())
        with self._lock:
            return self._templates.setdefault(ref.digest, template)

    def keep(self, project_id: str, digest: str, template: Template) -> Template:
        """Remember ``template`` (whose digest the caller checked) as the project's pinned one."""
        with self._lock:
            template = self._templates.setdefault(digest, template)
            self._digests[project_id] = digest
            if len(self._digests) > KEPT_PROJECTS:
                self._digests.popitem(last=False)
            return template
