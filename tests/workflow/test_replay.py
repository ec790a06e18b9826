"""Determinism: histories replay against today's workflow code.

``tests/histories/*.json`` are histories recorded by earlier versions of the code; they must
keep replaying after every change (use ``workflow.patched`` when behaviour changes). Record the
current code's with ``COOPFLOW_RECORD_HISTORY=<label> pytest tests/workflow/test_replay.py``
(files ``<label>-run<n>.json``; ``lifecycle-v1`` wrote through a local activity, ``lifecycle-v1.2``
through a regular one, ``lifecycle-v2`` runs template v2 with reminders, a change and a request for
more time, ``lifecycle-v3`` template v3 with a document in every file field; ``expert-day-v1`` and
``return-referral-v1``, steps named at run time, are recorded by
``tests/workflow/test_template_lifecycles.py``, as are ``expert-day-v2`` and ``return-referral-v2``: personal
values sealed, the ended case waiting for its erasure, then erased). The fresh run starts on the newest version of the
default template.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from domain import format_time, parse_time
from services.app import Coopflow
from tests.utils.app import LEAD, actor, play, start
from worker import workflow_runner
from workflows import ProjectWorkflow

HISTORIES = Path(__file__).parent.parent / "histories"


def replayer() -> Replayer:
    """The workflows as the workers run them: the production runner (worker.workflow_runner)."""
    return Replayer(workflows=[ProjectWorkflow], data_converter=pydantic_data_converter,
                    workflow_runner=workflow_runner())


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
    histories = [await app.client.get_workflow_handle(w.id, run_id=w.run_id).fetch_history()
                 async for w in app.client.list_workflows(f"WorkflowId = 'project-{project['id']}'")]
    assert len(histories) >= 2
    for history in histories:
        await replayer().replay_workflow(history)
    label = os.environ.get("COOPFLOW_RECORD_HISTORY")
    if label and request.node.callspec.params["engine"] == "sqlite":
        for i, history in enumerate(sorted(histories, key=lambda h: h.events[0].event_time.ToDatetime())):
            (HISTORIES / f"{label}-run{i + 1}.json").write_text(history.to_json())


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.name)
async def test_recorded_histories_still_replay(path: Path):
    history = WorkflowHistory.from_json("recorded", path.read_text())
    await replayer().replay_workflow(history)


FIRST_RUNS = sorted(HISTORIES.glob("*-run1.json"))


@pytest.mark.parametrize("path", FIRST_RUNS, ids=lambda p: p.name)
def test_every_recorded_template_dumps_as_it_did(path: Path):
    """A project's first event holds its template's dump, hashed; when its workflow replays, today's
    code dumps the template again: a field added since must not change a dump that did not have it."""
    from domain import Template

    history = json.loads(path.read_text())
    payload = history["events"][0]["workflowExecutionStartedEventAttributes"]["input"]["payloads"][0]["data"]
    recorded = json.loads(base64.b64decode(payload))["start"]["template"]
    assert Template.model_validate(recorded).model_dump(mode="json") == recorded
