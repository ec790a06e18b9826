"""Template texts kept once each, by digest: what a project's first event names by ``template_ref`` (id, version
and the SHA-256 of the template's canonical JSON) instead of holding the whole template (projects started
before that hold it in their first event, and have no row here).

The text is written by the store-write activity in the transaction that writes the project's first event
(``activities/store_writes.py``), and never changed (append-only, like the trail). Whoever reads it checks it
against the digest: a text that does not hash to it is never used (``store/pinned.py``), and the full check of a
trail says so (``problem``)."""

from __future__ import annotations

import functools
import json
from typing import Any

from sqlalchemy import Column, Text, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, SQLModel

from domain import Template, canonical_json
from domain.tally import template_digest


class TemplateText(SQLModel, table=True):
    """One template text, by the digest of its canonical JSON (append-only)."""

    __tablename__ = "template_text"
    digest: str = Field(primary_key=True)  # sha256 hex of ``body``
    template_id: str
    version: int
    body: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON, as hashed
    created_at: str


T = TemplateText.__table__  # type: ignore[attr-defined]


class PinnedTextError(RuntimeError):
    """A project's first event names a template text the store does not hold, or holds altered."""


@functools.cache
def _insert(dialect: str) -> Any:
    insert: Any = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return insert(T).on_conflict_do_nothing(index_elements=["digest"])


def keep_text(conn: Connection, template: Template, digest: str, at: str) -> None:
    """Keep ``template``'s text (in the caller's transaction), once: a text kept already is left as it is.
    ``digest`` is the one its first event names, which the caller found the template by and checked
    (``workflows.templates.resolve``); the text is made once per digest and process, not once per project."""
    conn.execute(_insert(conn.dialect.name), {"digest": digest, "template_id": template.id,
                                              "version": template.version, "body": _body(digest, template),
                                              "created_at": at})


_BODIES: dict[str, str] = {}  # digest -> canonical JSON; templates are few


def _body(digest: str, template: Template) -> str:
    body = _BODIES.get(digest)
    if body is None:
        body = _BODIES.setdefault(digest, canonical_json(template.model_dump(mode="json")))
    return body


def stored_text(engine: Engine, digest: str) -> str | None:
    """The kept text of ``digest`` as it is in the store (unchecked), or None."""
    with engine.connect() as conn:
        body: str | None = conn.execute(select(T.c.body).where(T.c.digest == digest)).scalar()
    return body


def checked_template(engine: Engine, project_id: str, ref: dict[str, Any]) -> Template:
    """The template a first event names by ``ref``, from its kept text once that hashes to the digest; else
    ``PinnedTextError`` naming the project and the digest (a text that was altered is never used)."""
    return template_from(project_id, stored_text(engine, ref["digest"]), ref)


def template_from(project_id: str, body: str | None, ref: dict[str, Any]) -> Template:
    """``checked_template`` of a kept text already read (``body``; None: the store has none)."""
    trouble = problem(body, ref)
    if trouble is not None or body is None:
        raise PinnedTextError(f"Project {project_id}: {trouble}")
    return Template.model_validate(json.loads(body))


def problem(body: str | None, ref: dict[str, Any]) -> str | None:
    """What is wrong with the kept text ``body`` of the template ``ref`` names, or None when it hashes to it."""
    named = f"the template this project started with ({ref['id']} version {ref['version']}, digest {ref['digest']})"
    if body is None:
        return f"{named} is missing from the store"
    if _digest_of(body) != ref["digest"]:
        return f"{named} has been altered in the store: its text no longer hashes to that digest"
    return None


@functools.lru_cache(maxsize=64)
def _digest_of(body: str) -> str | None:
    """The digest of a kept text exactly as stored (None: not JSON). Texts are few and each is hashed once per
    process, not once per project (``audit verify --all`` asks for every project whose first event names one)."""
    try:
        return template_digest(json.loads(body))
    except ValueError:
        return None


def first_event_problem(engine: Engine, first_data: str | dict[str, Any]) -> str | None:
    """For a trail's first event (its data, as stored or parsed): what is wrong with the template text it names
    by digest, or None (also for a first event that holds its template itself)."""
    if isinstance(first_data, str):
        if '"template_ref"' not in first_data:
            return None
        first_data = json.loads(first_data)
    ref = first_data.get("template_ref") if isinstance(first_data, dict) else None
    if not isinstance(ref, dict) or "template" in first_data:
        return None
    return problem(stored_text(engine, str(ref.get("digest"))), ref)
