"""A new project's first event names its template by id, version and digest (coopflow issue #21): the store keeps
the text once, by digest, and the first write's activity input no longer carries it. Every reader still gets the
template (the project, time travel, the template's own answer, a bundle); the full check says when the text is
missing or altered. A project started the old way (its first event holds the template) works as before, and
every recorded start decides its first events again with the very hashes its run wrote."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from temporalio.api.enums.v1 import EventType
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from domain import Event, ProjectState, StartProject, decide, parse_time, started_state
from domain.tally import template_digest
from evidence.proofs import verify_bundle
from services.app import Coopflow
from store.pinned import PinnedTemplates
from store.template_texts import stored_text
from templates import TemplateRegistry
from templates.loader import BUILTIN_DIR
from tests.utils.app import LEAD, PARTNERS, actor, start
from tests.utils.histories import HISTORIES, _payloads, run_histories
from tests.utils.tamper import triggers_off
from worker import add_template_sources
from workflows import ProjectInput, ProjectWorkflow, workflow_id
from workflows.templates import resolved

SMALL = 6_000  # bytes: the first write's input without the template (which alone is about 18 KB)


async def first_write_size(app: Coopflow, project_id: str) -> tuple[int, bytes]:
    """The size of the first store write's activity input, as the workflow's history holds it, and its bytes."""
    (history, *_) = await run_histories(app.client, project_id)
    scheduled = next(e.activity_task_scheduled_event_attributes for e in history.events
                     if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    assert scheduled.activity_type.name == "record_events"
    data = b"".join(p.data for p in scheduled.input.payloads)
    return len(data), data


async def test_a_new_projects_first_event_names_its_template_by_digest(app: Coopflow):
    project = await start(app)
    pid, auditor, lead = project["id"], actor(app, "auditor"), actor(app, LEAD)
    template = app.templates.latest("cooperation")
    body = template.model_dump(mode="json")
    digest = template_digest(body)
    first = next(iter(app.list_events(auditor, pid)))
    assert "template" not in first["data"]
    assert first["data"]["template_ref"] == {"id": "cooperation", "version": template.version, "digest": digest}
    kept = stored_text(app.engine, digest)
    assert kept is not None and template_digest(json.loads(kept)) == digest
    size, sent = await first_write_size(app, pid)
    assert size < SMALL and b'"phases"' not in sent, "the template no longer travels in the first write"

    # every reader gets the template
    assert app.pinned_template(auditor, pid) == {"id": "cooperation", "version": template.version,
                                                 "digest": digest, "template": body}
    was = app.show_project(lead, pid, as_of=first["at"])
    assert was["template"] == project["template"] and was["seq"] == 3 and was["tasks"][0]["step"] == "concept_note"
    assert app.mail(project_id=pid), "its first events' mails, composed with the template"
    checked = app.verify(auditor, pid)
    assert checked["ok"] and checked["problems"] == []
    bundle = io.BytesIO()
    app.export_bundle(auditor, pid, bundle)
    bundle.seek(0)
    assert verify_bundle(bundle)["ok"]


async def test_a_project_started_the_old_way_still_shows_checks_and_mails(app: Coopflow):
    """As the code before digests started it: the whole template in the start, and so in the first event."""
    lead = actor(app, LEAD)
    pid = uuid.uuid4().hex[:12]
    template = app.templates.latest("cooperation")
    command = StartProject(project_id=pid, title="Started the old way", template=template, lead=LEAD,
                           partners=PARTNERS, parameters={"report_count": 1}, actor=lead)
    await asyncio.wait_for(app.client.execute_update_with_start_workflow(  # a write that cannot be done: fails
        ProjectWorkflow.sync, start_workflow_operation=WithStartWorkflowOperation(
            ProjectWorkflow.run, ProjectInput(start=command, write_timeout=app.write_timeout), id=workflow_id(pid),
            task_queue=app.task_queue, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING), id=f"start-{pid}"),
        timeout=60)
    auditor = actor(app, "auditor")
    first = next(iter(app.list_events(auditor, pid)))
    assert first["data"]["template"] == template.model_dump(mode="json") and "template_ref" not in first["data"]
    assert (await first_write_size(app, pid))[0] > SMALL, "the template travelled in the first write, as then"
    done = await app.complete_task(lead, pid, "t1", data={"summary": "Old", "budget_eur": "1000",
                                                          "duration_months": 12, "languages": ["de"]})
    assert done["status"] == "completed"
    shown = app.show_project(lead, pid)
    assert shown["template"] == {"id": "cooperation", "version": template.version} and shown["seq"] > 3
    assert app.show_project(lead, pid, as_of=first["at"])["seq"] == 3
    assert app.verify(auditor, pid)["ok"]
    assert app.mail(project_id=pid), "mails, composed with the template of its first event"
    assert app.pinned_template(auditor, pid)["digest"] == template_digest(first["data"]["template"])


async def test_the_full_check_says_when_the_template_text_is_missing_or_altered(app: Coopflow, tmp_path: Path):
    # a template text of this test only, so that no other project shares its row
    folder = tmp_path / "templates"
    folder.mkdir()
    path = folder / "digest-check.v1.yaml"
    shutil.copy(BUILTIN_DIR / "cooperation.v3.yaml", path)
    own = f"digest-{uuid.uuid4().hex[:8]}"
    path.write_text(path.read_text().replace("id: cooperation\n", f"id: {own}\n", 1))
    app.templates = TemplateRegistry(folder)
    only = app.templates.latest(own)
    project = await start(app, template=only.id)
    pid, auditor = project["id"], actor(app, "auditor")
    digest = next(iter(app.list_events(auditor, pid)))["data"]["template_ref"]["digest"]
    assert app.verify(auditor, pid)["ok"]
    kept = stored_text(app.engine, digest)
    assert kept is not None

    def reasons() -> list[Any]:
        checked = app.verify(auditor, pid)
        assert checked["ok"] is False
        return [(p["seq"], p["reason"]) for p in checked["problems"]]

    with triggers_off(app.engine, "template_text") as conn:
        conn.execute(text("UPDATE template_text SET body = :b WHERE digest = :d"),
                     {"b": kept.replace('"required":true', '"required":false', 1), "d": digest})
    named = f"the template this project started with ({only.id} version {only.version}, digest {digest})"
    assert reasons() == [(1, f"{named} has been altered in the store: its text no longer hashes to that digest")]
    everything = app.verify_all(auditor)
    assert pid in {b["project"] for b in everything["broken"]}, "and so does `audit verify --all`"
    with triggers_off(app.engine, "template_text") as conn:
        conn.execute(text("DELETE FROM template_text WHERE digest = :d"), {"d": digest})
    assert reasons() == [(1, f"{named} is missing from the store")]
    app._pinned = PinnedTemplates(app.engine)  # as a web process that has not read that template yet
    overview = app.overview_check(auditor, pid)  # the auditor's landing page shows it, and does not fail
    assert overview["chain"]["ok"] is False and overview["plain_personal"] is False
    with app.engine.begin() as conn:  # put back as it was: the trail holds again
        conn.execute(text("INSERT INTO template_text (digest, template_id, version, body, created_at) "
                          "VALUES (:d, :i, :v, :b, '2027-01-01T00:00:00.000000Z')"),
                     {"d": digest, "i": only.id, "v": only.version, "b": kept})
    assert app.verify(auditor, pid)["ok"]


FIRST_RUNS = sorted(HISTORIES.glob("*-run1.json"))


def recorded_start(path: Path) -> tuple[StartProject, str, dict[int, str], dict[str, Any]]:
    """A recorded first run's start, when its first events happened, the hashes its run recorded by seq (the
    first store write's events; a run that wrote through a local activity, whose input the history does not
    keep: the head of the project its start's update answered) and its first event's data where recorded."""
    found = list(_payloads(json.loads(path.read_text())))
    carried = ProjectInput.model_validate(found[0])
    assert carried.start is not None
    batch = next((p for p in found if isinstance(p, dict) and {"project", "events"} <= p.keys()), None)
    if batch is not None:
        events = [Event.model_validate(e) for e in batch["events"]]
        return carried.start, events[0].at, {e.seq: e.hash for e in events}, events[0].data
    view = next(p for p in found if isinstance(p, dict) and {"seq", "head", "started_at"} <= p.keys())
    return carried.start, view["started_at"], {view["seq"]: view["head"]}, {}


@pytest.mark.parametrize("path", FIRST_RUNS, ids=lambda p: p.name)
def test_a_recorded_start_decides_its_first_events_with_the_hashes_its_run_wrote(path: Path):
    """Replaying a history compares the commands, not what the activities were given: this compares the events
    (and their hashes, whose head the store holds) that today's code decides from a recorded start."""
    add_template_sources(None, None)
    start, at, recorded, _ = recorded_start(path)
    command = resolved(start)
    state = started_state(command.template) if command.digest_in_first_event else ProjectState()
    decided = {e.seq: e.hash for e in decide(state, command, parse_time(at))}
    compared = {seq: recorded[seq] for seq in decided if seq in recorded}
    assert compared and compared == {seq: decided[seq] for seq in compared}


def test_the_corpus_holds_a_start_of_either_shape():
    shapes = {"template_ref" in recorded_start(path)[3] for path in FIRST_RUNS if recorded_start(path)[3]}
    assert shapes == {False, True}, "a first event holding its template, and one naming it by digest"
