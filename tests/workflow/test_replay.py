"""Determinism: histories replay against today's workflow code, with the production runner.

``tests/histories/*.json`` are histories recorded by earlier versions of the code; they must keep
replaying after every change (use ``workflow.patched`` when behaviour changes). Each ``test_fresh_*``
below plays a scenario, replays its histories and, asked to, records them for the corpus:

    COOPFLOW_RECORD_HISTORY=<scenario>-v<n> .venv/bin/pytest tests/workflow/test_replay.py -k <scenario>

writes ``<scenario>-v<n>-run<i>.json`` (a version in the corpus is never written over). Scenarios:
``lifecycle`` (dev server; ``lifecycle-v1`` wrote through a local activity, ``lifecycle-v1.2`` through
a regular one, ``lifecycle-v2`` runs template v2 with reminders, a change and a request for more time,
``lifecycle-v3`` template v3 with a document in every file field, ``lifecycle-v4`` a start and continued
runs that name the template by reference and carry only open tasks and a tally, ``lifecycle-v5`` a first event
that names its template by digest: tests/workflow/test_template_digest.py), ``timers`` (time-skipping server:
reminders, missed deadlines, escalations and a scheduled report, each when its durable timer fires),
``retention`` (time-skipping server: an ended case's personal data erased by the system when its
retention timer fires) and ``incident`` (dev server: a write the store refuses, a failed activity, an
operator's ``retry_writes`` refused again, then after the store was mended the write done).
The scenario ``holders`` (tests/workflow/test_holder_replay.py: tasks taken, handed on, completed by a
substitute, freed when a holder left) is recorded there.
The scenarios ``expert-day`` and ``return-referral`` (steps named at run time; ``-v2``: personal values
sealed, the ended case waiting for its erasure, then erased) are recorded the same way by
``tests/workflow/test_template_lifecycles.py``. The fresh lifecycle starts on the newest version of
the default template. ``test_the_corpus_covers_what_can_break`` says what the corpus must hold; no
history holds a personal value in clear, but those recorded before sealing.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from commands.common import OPERATOR
from domain import format_time, parse_time
from services.app import Coopflow
from store import StoreUnavailable
from tests.utils.app import LEAD, PARTNERS, actor, play, start
from tests.utils.histories import (
    HISTORIES,
    Recorded,
    personal_values_in_clear,
    record,
    replayed,
    replayer,
    run_histories,
)
from tests.utils.scenario import SAMPLE_DATA
from tests.utils.tamper import tamper
from tests.workflow.test_retention import ended_case, status_soon
from workflows import ProjectWorkflow, workflow_id

pytestmark = pytest.mark.long(29)  # seconds on 2 cores: started first (tests/conftest.py)


def kinds(history: WorkflowHistory) -> set[EventType.ValueType]:
    return {e.event_type for e in history.events}


async def test_fresh_lifecycle_histories_replay(app: Coopflow, request: pytest.FixtureRequest):
    project = await start(app, history_limit=60)
    pid = project["id"]
    assert project["template"] == {"id": "cooperation", "version": app.templates.latest("cooperation").version}
    lead = actor(app, LEAD)
    await play(app, pid, loops=True, until_step="letter_of_intent", documents=True)
    # the changes and requests for more time are in the corpus too
    letter = next(t for t in app.show_project(lead, pid)["tasks"] if t["step"] == "letter_of_intent")
    due = format_time(parse_time(letter["due_at"]) + timedelta(days=7))
    await app.change_project(lead, pid, kind="extend_deadline", reason="holidays", task_id=letter["id"], due_at=due)
    await app.request_extension(actor(app, letter["assignee"]), pid, letter["id"], reason="board", due_at=format_time(
        parse_time(due) + timedelta(days=7)))
    await play(app, pid, loops=True, documents=True)
    histories = await replayed(await run_histories(app.client, pid))
    assert len(histories) >= 2
    if request.node.callspec.params["engine"] == "sqlite":
        record(histories, "lifecycle")


async def test_fresh_timers_histories_replay(skipping_env: WorkflowEnvironment, skipping_app: Coopflow):
    """Reminders, missed deadlines, escalations and a report's next occurrence, each written when its
    durable timer fires; then a late report completed."""
    app = skipping_app
    pid = (await start(app, parameters={"report_count": 2, "report_every": "P1M"}))["id"]
    await play(app, pid, loops=False, until_step="progress_report")
    await skipping_env.sleep(timedelta(days=34))  # reminder at day 27, overdue at 30, escalation at 33
    await app.client.get_workflow_handle(workflow_id(pid)).execute_update(ProjectWorkflow.sync)
    auditor = actor(app, "auditor")
    written = Counter(e["type"] for e in app.list_events(auditor, pid) if e["step"] == "progress_report")
    assert (written["ReminderSent"], written["DeadlineMissed"], written["Escalated"]) == (3, 3, 3)
    reports = [t for t in app.show_project(auditor, pid)["tasks"] if t["step"] == "progress_report"]
    assert sorted(t["occurrence"] for t in reports) == [1, 1, 1, 2, 2, 2], "the second opened by its timer"
    late = next(t for t in reports if t["occurrence"] == 1)
    await app.complete_task(actor(app, late["assignee"]), pid, late["id"], data=SAMPLE_DATA["progress_report"])
    histories = await replayed(await run_histories(app.client, pid))
    assert any(EventType.EVENT_TYPE_TIMER_FIRED in kinds(h) for h in histories)
    record(histories, "timers")


async def test_fresh_retention_histories_replay(skipping_env: WorkflowEnvironment, skipping_app: Coopflow):
    """An ended return referral keeps its sealed personal data for three years; then its retention timer
    fires and the system erases it, and the workflow ends."""
    app = skipping_app
    pid = await ended_case(app, "completed")
    await skipping_env.sleep(timedelta(days=3 * 366 + 3))
    handle = app.client.get_workflow_handle(workflow_id(pid))
    assert await status_soon(handle) is not None and await handle.result() == "completed"
    (erased,) = [e for e in app.list_events(actor(app, "auditor"), pid) if e["type"] == "PersonalDataErased"]
    assert erased["actor"] is None, "erased by the system, when its timer fired"
    histories = await replayed(await run_histories(app.client, pid))
    assert any(EventType.EVENT_TYPE_TIMER_FIRED in kinds(h) for h in histories)
    record(histories, "retention")


async def test_fresh_incident_histories_replay(app: Coopflow, request: pytest.FixtureRequest):
    """A write the store refuses (its activity fails), the operator's retry refused again, the store
    mended, the retry done; then the project moves on."""
    lead = actor(app, LEAD)
    project = await start(app)
    pid, planted = project["id"], project["seq"] + 1
    with app.engine.begin() as conn:  # another event at the seq the completion will take
        conn.execute(text("INSERT INTO audit_event (project_id, seq, type, at, data, prev_hash, hash) "
                          "VALUES (:p, :s, 'Planted', '2027-01-01T00:00:00.000000Z', '{}', :h, :h)"),
                     {"p": pid, "s": planted, "h": "f" * 64})
    with pytest.raises(StoreUnavailable):
        await app.complete_task(lead, pid, "t1", data=SAMPLE_DATA["concept_note"], request_id="k1")
    assert (await app.retry_incident(OPERATOR, pid))["incident"]["seq"] == planted, "refused again"
    tamper(app.engine, "DELETE FROM audit_event WHERE project_id = :p AND seq = :s", p=pid, s=planted)
    assert (await app.retry_incident(OPERATOR, pid))["incident"] is None
    assert (await app.complete_task(lead, pid, "t1", data=SAMPLE_DATA["concept_note"], request_id="k1")
            )["status"] == "completed"
    partner = actor(app, PARTNERS[0])
    await app.complete_task(partner, pid, "t2", data=SAMPLE_DATA["letter_of_intent"])
    histories = await replayed(await run_histories(app.client, pid))
    assert any(EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED in kinds(h) for h in histories)
    if request.node.callspec.params["engine"] == "sqlite":
        record(histories, "incident")


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.name)
async def test_recorded_histories_still_replay(path: Path):
    history = WorkflowHistory.from_json("recorded", path.read_text())
    await replayer().replay_workflow(history)


TIMED = {"ReminderSent", "DeadlineMissed", "Escalated"}
WHAT_CAN_BREAK: dict[str, Callable[[Recorded], bool]] = {
    "a durable timer that fired and what fell due written (reminder, deadline missed, escalation)":
        lambda h: "EVENT_TYPE_TIMER_FIRED" in h.types and TIMED <= h.written,
    "the retention's timer that fired and erased a case's personal data":
        lambda h: "EVENT_TYPE_TIMER_FIRED" in h.types and "PersonalDataErased" in h.written,
    "an activity that failed (a write the store refused)": lambda h: "EVENT_TYPE_ACTIVITY_TASK_FAILED" in h.types,
    "an operator's retry_writes after a store incident": lambda h: "retry_writes" in h.updates,
    "a run continued as new": lambda h: "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW" in h.types,
    "a run that wrote through a local activity (before v1.2)": lambda h: "core_local_activity" in h.markers,
    "a change and a request for more time": lambda h: {"change_project", "request_extension"} <= h.updates,
    "a coordinator's erasure": lambda h: "erase_personal_data" in h.updates,
    "a hand-over of a task (hold_task), a substitute's completion and a task freed by the system":
        lambda h: "hold_task" in h.updates and "TaskHeld" in h.written,
}


def test_the_corpus_covers_what_can_break():
    """Replaying only what always goes well proves little: the corpus must hold each path that a change
    to the workflow can break."""
    corpus = [Recorded.read(path) for path in sorted(HISTORIES.glob("*.json"))]
    missing = [what for what, holds in WHAT_CAN_BREAK.items() if not any(holds(h) for h in corpus)]
    assert missing == [], f"no recorded history holds: {missing}"


BEFORE_SEALING = {"expert-day-v1-run1.json", "return-referral-v1-run1.json"}  # their code kept values in clear


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.name)
def test_no_recorded_history_holds_a_personal_value_in_clear(path: Path):
    """The corpus is in the repository: a personal field's value is in it only sealed (or erased). Projects
    recorded before sealing are the exception, with the tests' made-up values."""
    sealed, leaks = personal_values_in_clear(path)
    if path.name in BEFORE_SEALING:
        assert not sealed
        return
    assert leaks == [], f"personal fields in clear: {sorted(set(leaks))}"


FIRST_RUNS = sorted(HISTORIES.glob("*-run1.json"))


@pytest.mark.parametrize("path", FIRST_RUNS, ids=lambda p: p.name)
def test_every_recorded_template_dumps_as_it_did(path: Path):
    """A project's first event holds its template's dump, hashed; when its workflow replays, today's
    code dumps the template again: a field added since must not change a dump that did not have it."""
    from domain import Template
    from domain.tally import template_digest
    from templates import TemplateRegistry

    history = json.loads(path.read_text())
    payload = history["events"][0]["workflowExecutionStartedEventAttributes"]["input"]["payloads"][0]["data"]
    start = json.loads(base64.b64decode(payload))["start"]
    recorded = start["template"]
    if recorded is None:  # a start by reference (since v1.3): today's dump of that template has its digest
        ref = start["template_ref"]
        today = TemplateRegistry().get(ref["id"], ref["version"]).model_dump(mode="json")
        assert template_digest(today) == ref["digest"]
        return
    assert Template.model_validate(recorded).model_dump(mode="json") == recorded
