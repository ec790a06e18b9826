"""The store keeps each template text once, by digest, on SQLite and PostgreSQL: the store-write activity writes
it with a project's first event (the text from the worker's own registry, in the same transaction: a write that
fails leaves neither), and every reader checks it against the digest (a missing or altered text is never used)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

import activities.store_writes
from activities.contracts import RecordEvents
from activities.store_writes import StoreWrites
from domain import Event, ProjectState, StartProject, Template, decide, fold, started_state, summary_view, task_view
from domain.tally import template_digest
from store import incidents, iter_events
from store.pinned import PinnedTemplates, PinnedTextError
from store.template_texts import first_event_problem, stored_text
from templates import TemplateRegistry
from tests.utils.domain import COORDINATOR, LEAD, PARTNERS
from tests.utils.tamper import triggers_off
from workflows.templates import remember

AT = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


def a_template() -> Template:
    """A template text of this test only (its own digest): the worker's registry has it, as after a start."""
    template = TemplateRegistry().latest("cooperation")
    template = template.model_copy(update={"title": {**template.title, "en": f"Digest test {uuid.uuid4().hex}"}})
    remember(template)
    return template


def first_batch(template: Template) -> tuple[RecordEvents, list[Event]]:
    command = StartProject(project_id=f"td-{uuid.uuid4().hex[:10]}", title="Digests", template=template, lead=LEAD,
                           partners=PARTNERS, parameters={"report_count": 1}, actor=COORDINATOR,
                           digest_in_first_event=True)
    events = decide(ProjectState(), command, AT)
    state = fold(events, started_state(template))
    return RecordEvents(project=summary_view(state), events=events,
                        tasks=[task_view(state, t) for t in state.tasks.values()]), events


def text_row(engine: Engine, digest: str) -> dict[str, object] | None:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM template_text WHERE digest = :d"), {"d": digest}).mappings().first()
    return dict(row) if row is not None else None


def test_the_first_write_keeps_the_template_text_once(engine: Engine):
    template = a_template()
    batch, events = first_batch(template)
    digest = events[0].data["template_ref"]["digest"]
    sent = batch.model_dump_json()
    assert template.title["en"] not in sent and '"phases"' not in sent, "the activity's input holds no template"
    assert ActivityEnvironment().run(StoreWrites(engine).record_events, batch) == len(events)
    row = text_row(engine, digest)
    assert row is not None and (row["template_id"], row["version"]) == (template.id, template.version)
    assert template_digest(json.loads(str(row["body"]))) == digest
    assert Template.model_validate(json.loads(str(row["body"]))) == template
    # a retry of the write, and another project of the same text: still the one row
    again, _ = first_batch(template)
    ActivityEnvironment().run(StoreWrites(engine).record_events, batch)
    ActivityEnvironment().run(StoreWrites(engine).record_events, again)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM template_text WHERE digest = :d"), {"d": digest}).scalar() == 1
    pid = batch.project["id"]
    assert PinnedTemplates(engine).of(pid) == template, "read back by digest, from the first event"
    assert first_event_problem(engine, next(iter_events(engine, pid))["data"]) is None


def test_a_failed_first_write_keeps_neither_events_nor_text(engine: Engine, monkeypatch: pytest.MonkeyPatch):
    template = a_template()
    batch, events = first_batch(template)

    def broken(*args: object, **kwargs: object) -> list[dict[str, object]]:
        raise RuntimeError("the mails could not be composed")

    monkeypatch.setattr(activities.store_writes, "mails_for", broken)  # after the text, in the transaction
    pid = batch.project["id"]
    try:
        with pytest.raises(ApplicationError):
            ActivityEnvironment().run(StoreWrites(engine).record_events, batch)
        assert list(iter_events(engine, pid)) == []
        assert text_row(engine, events[0].data["template_ref"]["digest"]) is None, "written with the events, or not"
        assert [i["project_id"] for i in incidents(engine, pid)] == [pid], "the refusal is an incident"
    finally:  # other tests of this store list every open incident: this one is theirs to not see
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM incident WHERE project_id = :p"), {"p": pid})


def test_an_altered_or_missing_text_is_never_used(engine: Engine):
    template = a_template()
    batch, events = first_batch(template)
    ActivityEnvironment().run(StoreWrites(engine).record_events, batch)
    pid, digest = batch.project["id"], events[0].data["template_ref"]["digest"]
    body = stored_text(engine, digest)
    assert body is not None
    altered = body.replace('"required":true', '"required":false', 1)
    assert altered != body
    with engine.connect() as conn:
        refused = conn.begin()
        with pytest.raises(Exception, match="template_text is append-only"):
            conn.execute(text("UPDATE template_text SET body = :b WHERE digest = :d"), {"b": altered, "d": digest})
        refused.rollback()
    with triggers_off(engine, "template_text") as conn:  # as a malicious database administrator would
        conn.execute(text("UPDATE template_text SET body = :b WHERE digest = :d"), {"b": altered, "d": digest})
    with pytest.raises(PinnedTextError, match=f"Project {pid}: .*digest {digest}.* has been altered"):
        PinnedTemplates(engine).of(pid)
    first = next(iter_events(engine, pid))["data"]
    assert "has been altered in the store" in str(first_event_problem(engine, first))
    with triggers_off(engine, "template_text") as conn:
        conn.execute(text("DELETE FROM template_text WHERE digest = :d"), {"d": digest})
    with pytest.raises(PinnedTextError, match=f"Project {pid}: .*digest {digest}.* is missing from the store"):
        PinnedTemplates(engine).of(pid)
    assert "is missing from the store" in str(first_event_problem(engine, first))
    with engine.begin() as conn:  # put back: other tests read every project of this store (the auditor's pages)
        conn.execute(text("INSERT INTO template_text (digest, template_id, version, body, created_at) "
                          "VALUES (:d, :i, :v, :b, '2027-01-01T00:00:00.000000Z')"),
                     {"d": digest, "i": template.id, "v": template.version, "b": body})
    assert PinnedTemplates(engine).of(pid) == template
