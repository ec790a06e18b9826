"""The replay corpus (``tests/histories``): fetching a project's histories, recording them, and reading
what a recorded one holds, as the JSON Temporal writes (payloads in base64, no codec in the tests)."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from domain.personal import is_sealed
from worker import add_template_sources, workflow_runner
from workflows import ProjectInput, ProjectWorkflow, workflow_id
from workflows.templates import resolve

HISTORIES = Path(__file__).parent.parent / "histories"


def replayer() -> Replayer:
    """The workflows as the workers run them: the production runner (worker.workflow_runner), finding templates
    by reference among the built-in ones, as a worker does."""
    add_template_sources(None, None)
    return Replayer(workflows=[ProjectWorkflow], data_converter=pydantic_data_converter,
                    workflow_runner=workflow_runner())


async def replayed(histories: list[WorkflowHistory]) -> list[WorkflowHistory]:
    for history in histories:
        await replayer().replay_workflow(history)
    return histories


async def run_histories(client: Client, project_id: str) -> list[WorkflowHistory]:
    """Every run's history, oldest first: followed back from the latest run along continue-as-new
    (the time-skipping server cannot list workflows)."""
    found: list[WorkflowHistory] = []
    run_id: str | None = None
    while True:
        history = await client.get_workflow_handle(workflow_id(project_id), run_id=run_id).fetch_history()
        found.insert(0, history)
        run_id = history.events[0].workflow_execution_started_event_attributes.continued_execution_run_id
        if not run_id:
            return found


def record(histories: list[WorkflowHistory], scenario: str) -> None:
    """With ``COOPFLOW_RECORD_HISTORY=<scenario>-v<n>``, write the histories to the corpus as
    ``<scenario>-v<n>-run<i>.json``. A recorded version is never written over: it stands for the code
    that recorded it."""
    label = os.environ.get("COOPFLOW_RECORD_HISTORY", "")
    if not label.startswith(f"{scenario}-v"):
        return
    assert not list(HISTORIES.glob(f"{label}-run*.json")), f"{label} is in the corpus already: give a new version"
    for i, history in enumerate(histories):
        (HISTORIES / f"{label}-run{i + 1}.json").write_text(history.to_json())


def _payloads(node: Any) -> Iterator[Any]:
    """Every JSON payload anywhere in a history, decoded."""
    if isinstance(node, dict):
        if isinstance(node.get("data"), str) and isinstance(node.get("metadata"), dict):
            if base64.b64decode(node["metadata"].get("encoding", "")) == b"json/plain":
                yield json.loads(base64.b64decode(node["data"]))
        for value in node.values():
            yield from _payloads(value)
    elif isinstance(node, list):
        for value in node:
            yield from _payloads(value)


def _payload(attributes: dict[str, Any]) -> Any:
    return json.loads(base64.b64decode(attributes["payloads"][0]["data"]))


@dataclass
class Recorded:
    """What one recorded history holds, as far as the coverage of the corpus is concerned."""

    types: set[str]  # history event types, e.g. EVENT_TYPE_TIMER_FIRED
    written: set[str]  # domain event types handed to record_events
    updates: set[str]  # names of the updates Temporal accepted
    markers: set[str]

    @classmethod
    def read(cls, path: Path) -> Recorded:
        events = json.loads(path.read_text())["events"]
        found = cls({e["eventType"] for e in events}, set(), set(), set())
        for e in events:
            if (scheduled := e.get("activityTaskScheduledEventAttributes")) and \
                    scheduled["activityType"]["name"] == "record_events":
                found.written |= {event["type"] for event in _payload(scheduled["input"])["events"]}
            if accepted := e.get("workflowExecutionUpdateAcceptedEventAttributes"):
                found.updates.add(accepted["acceptedRequest"]["input"]["name"])
            if marker := e.get("markerRecordedEventAttributes"):
                found.markers.add(marker["markerName"])
        return found


def personal_values_in_clear(path: Path) -> tuple[bool, list[str]]:
    """Whether the history's project seals its personal values, and the personal fields (of its
    template) whose value it holds in clear anywhere: completions, events, read models, answers."""
    history = json.loads(path.read_text())
    carried = ProjectInput.model_validate(
        _payload(history["events"][0]["workflowExecutionStartedEventAttributes"]["input"]))
    project = carried.start if carried.start is not None else carried.state
    assert project is not None
    template = project.template
    if template is None:  # named by reference (since v1.3): the built-in template of that digest
        assert project.template_ref is not None
        add_template_sources(None, None)
        template = resolve(getattr(project, "project_id", None) or getattr(project, "id", ""), project.template_ref)
    personal = {f.name for phase in template.phases for step in phase.steps for f in step.form
                if f.personal and f.type != "file"}
    leaks = []
    for node in _walk([*_payloads(history)]):
        leaks += [name for name in personal & node.keys()
                  if isinstance(node[name], str) and not is_sealed(node[name])]
    return project.sealed, leaks


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)
