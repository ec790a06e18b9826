"""The templates a workflow finds by reference (id, version, digest): the worker's own registry.

A run continued by continue-as-new, and a project started by reference, carry the template's
reference, not its 18 KB. The worker (``worker.py``, the composition root) adds the places it
knows templates from: the store's pinned copies (every started project's first event holds its
template) and its template folders. A template is content-addressed: whichever place holds the
digest holds the very template, so what a workflow decides does not depend on which worker asks.
A reference no place holds, or a template whose digest differs, is refused with a clear error: the
workflow task fails and is tried again (nothing is decided) until the template is installed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from temporalio.exceptions import ApplicationError

from domain import ProjectState, StartProject, Template
from domain.tally import TemplateRef, template_digest

Source = Callable[[str, TemplateRef], Template | None]  # (project id, reference) -> the template, if it has it

_SOURCES: dict[str, Source] = {}
_FOUND: dict[str, Template] = {}  # digest -> template (few: one per template text ever used)
_LOCK = threading.Lock()
KEPT_SOURCES = 8  # workers of one process (tests start many, one after the other)


class TemplateNotInstalled(RuntimeError):
    """No place this worker knows holds the template a project pinned (not an ``ApplicationError``: the
    workflow task fails and is retried, the project waits)."""


def add_source(name: str, source: Source) -> None:
    """Where this process's workers find templates (the newest source under a name replaces the older)."""
    with _LOCK:
        _SOURCES.pop(name, None)
        _SOURCES[name] = source
        while len(_SOURCES) > KEPT_SOURCES:
            del _SOURCES[next(iter(_SOURCES))]


def remember(template: Template) -> TemplateRef:
    """A template at hand (a project's start): kept by its digest; returns its reference."""
    digest = template_digest(template.model_dump(mode="json"))
    with _LOCK:
        _FOUND.setdefault(digest, template)
    return TemplateRef(id=template.id, version=template.version, digest=digest)


def resolve(project_id: str, ref: TemplateRef) -> Template:
    """The template ``ref`` names, exactly (its digest checked), or ``TemplateNotInstalled``."""
    with _LOCK:
        found = _FOUND.get(ref.digest)
        sources = list(_SOURCES.items())
    if found is not None:
        return found
    seen: list[str] = []
    for name, source in reversed(sources):
        try:
            template = source(project_id, ref)
        except Exception as error:  # a store away, a folder gone: another place may have it
            seen.append(f"{name}: {type(error).__name__}: {error}")
            continue
        if template is None:
            continue
        digest = template_digest(template.model_dump(mode="json"))
        if digest != ref.digest:
            seen.append(f"{name}: {template.id} version {template.version} is another text (digest {digest[:12]}…)")
            continue
        with _LOCK:
            _FOUND.setdefault(digest, template)
        return template
    said = "; ".join(seen) or "no place has it"
    raise TemplateNotInstalled(
        f"Project {project_id} is pinned to template {ref.id} version {ref.version} with digest {ref.digest}, "
        f"which this worker cannot find ({said}). Install that exact template (the same file the project "
        "started with) in the worker's template folders; the project waits meanwhile.")


def by_reference(given: StartProject | ProjectState | None) -> bool:
    """A start or a continued run's state that names its template by reference (since v1.3)."""
    return given is not None and given.template is None and given.template_ref is not None


def carried_in(state: ProjectState) -> ProjectState:
    """The state a continued run was handed: the template found by its reference (runs continued since v1.3),
    the tally counted (runs continued by earlier versions hand every task over, and no tally)."""
    if state.template is None and state.template_ref is not None:
        state = state.model_copy(update={"template": resolve(state.id, state.template_ref)})
    return state if state.tally is not None else state.copy_for_change()


def resolved(start: StartProject) -> StartProject:
    """The start with its template: sent by reference (since v1.3), found in the worker's registry; a template
    the worker does not have ends the start with a clear error (nothing has happened yet)."""
    if start.template is not None or start.template_ref is None:
        return start
    try:
        return start.model_copy(update={"template": resolve(start.project_id, start.template_ref)})
    except TemplateNotInstalled as error:
        raise ApplicationError(str(error), type="invalid_request", non_retryable=True) from None
