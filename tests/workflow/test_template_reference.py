"""Templates travel by reference: a start carries the template's id, version and digest, the worker finds the
template in its own registry, and refuses one it does not have or whose text differs. A start upserts no
search attribute: its start request set them, and a run begun by reference asks no ``workflow.patched``."""

from __future__ import annotations

import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from domain import StartProject
from domain.tally import TemplateRef, template_digest
from services.app import Coopflow
from templates import TemplateRegistry
from tests.utils.app import LEAD, actor, play, start
from tests.utils.histories import run_histories
from workflows import ProjectInput, ProjectWorkflow, workflow_id
from workflows.templates import TemplateNotInstalled, add_source, resolve


async def test_a_start_carries_the_template_by_reference(app: Coopflow):
    project = await start(app)
    pid = project["id"]
    (history,) = await run_histories(app.client, pid)
    started = history.events[0].workflow_execution_started_event_attributes.input.payloads
    (carried,) = await app.client.data_converter.decode(started, [ProjectInput])
    first = next(iter(app.list_events(actor(app, "auditor"), pid)))
    assert carried.start is not None and carried.start.template is None
    assert carried.start.template_ref == TemplateRef(**first["data"]["template_ref"])  # the first event's, too
    assert carried.start.template_ref == TemplateRef(id="cooperation", version=project["template"]["version"],
                                                     digest=template_digest(app.templates.latest("cooperation")
                                                                            .model_dump(mode="json")))
    assert sum(len(p.data) for p in started) < 4_000  # the template alone is about 18 KB
    upserted = {name for e in history.events if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
                for name in e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields}
    # the start request set the phase and status; a run begun by reference asks no ``workflow.patched``
    # (each answer would be an upsert of TemporalChangeVersion)
    assert not upserted

    await play(app, pid, loops=False, until_step="draft_agreement")
    handle = app.client.get_workflow_handle(workflow_id(pid))
    attributes = (await handle.describe()).search_attributes
    assert attributes["CoopflowPhase"] == ["partner_agreement"] and attributes["CoopflowStatus"] == ["active"]


async def test_a_start_whose_template_the_worker_lacks_fails_saying_so(app: Coopflow):
    lead = actor(app, LEAD)
    template = app.templates.latest("cooperation")
    wrong = TemplateRef(id=template.id, version=template.version, digest="0" * 64)
    command = StartProject(project_id=uuid.uuid4().hex[:12], title="Unknown text", template_ref=wrong, lead=lead.org,
                           partners=["caritas-rs"], actor=lead)
    handle = await app.client.start_workflow(ProjectWorkflow.run, ProjectInput(start=command),
                                             id=workflow_id(command.project_id), task_queue=app.task_queue)
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and "0" * 64 in cause.message and "another text" in cause.message


def test_the_registry_refuses_another_text_of_a_template():
    template = TemplateRegistry().latest("expert-day")
    edited = template.model_copy(update={"title": {**template.title, "en": "Edited in place"}})
    ref = TemplateRef(id=template.id, version=template.version, digest="f" * 64)
    add_source(f"test {uuid.uuid4()}", lambda project_id, asked: edited)
    with pytest.raises(TemplateNotInstalled, match="another text"):
        resolve("p-edited", ref)
    right = TemplateRef(id=template.id, version=template.version,
                        digest=template_digest(template.model_dump(mode="json")))
    add_source(f"test {uuid.uuid4()}", lambda project_id, asked: template if asked == right else None)
    assert resolve("p-right", right) == template
