"""Rejected completions: a clear message, the right code, and nothing written anywhere."""

from __future__ import annotations

import pytest

from domain import DomainError, InvalidData, NotAssigned, NotFound, TaskClosed
from services.app import Coopflow
from tests.utils.app import LEAD, PARTNERS, actor, play, start
from tests.utils.scenario import SAMPLE_DATA


async def footprint(app: Coopflow, project_id: str) -> tuple[int, int]:
    """(Temporal history length, stored events): both must stay put on a rejection."""
    history = await app.client.get_workflow_handle(f"project-{project_id}").fetch_history()
    return len(history.events), len(list(app.list_events(actor(app, "auditor"), project_id)))


async def rejected(app: Coopflow, project_id: str, error: type[DomainError], who: str, task_id: str,
                   **kwargs) -> DomainError:
    before = await footprint(app, project_id)
    with pytest.raises(error) as info:
        await app.complete_task(actor(app, who), project_id, task_id, **kwargs)
    assert await footprint(app, project_id) == before
    return info.value


async def test_rejections_change_nothing(app: Coopflow):
    project = await start(app)
    pid = project["id"]
    (concept,) = [t for t in project["tasks"] if t["status"] == "open"]
    good = SAMPLE_DATA["concept_note"]

    err = await rejected(app, pid, NotAssigned, PARTNERS[0], concept["id"], data=good)
    assert err.message == (f"Task {concept['id']} (concept_note) is assigned to organisation '{LEAD}' "
                           f"(role coordinator), not to {PARTNERS[0]} as partner.")
    await rejected(app, pid, NotFound, LEAD, "t999", data=good)
    err = await rejected(app, pid, InvalidData, LEAD, concept["id"], data=good, outcome="approved")
    assert err.details == {"outcome": "must be left out"}

    for field, value, message in [
        ("summary", "", "is required"), ("budget_eur", "-5", "must be at least 0"),
        ("budget_eur", "a lot", "must be a number"), ("duration_months", 61, "must be at most 60"),
        ("duration_months", "x", "must be a whole number"), ("languages", ["de", "klingon"], "klingon is not"),
        ("nonsense", 1, "is not a field of this step"),
    ]:
        err = await rejected(app, pid, InvalidData, LEAD, concept["id"], data={**good, field: value})
        assert err.details[field].startswith(message), err.details
        assert field in err.message
    await rejected(app, pid, InvalidData, LEAD, concept["id"], data=["not", "an", "object"])

    done = await app.complete_task(actor(app, LEAD), pid, concept["id"], data=good, request_id="key-1")
    assert done["status"] == "completed"
    again = await rejected(app, pid, TaskClosed, LEAD, concept["id"], data=good)
    assert "is completed" in again.message
    # the same request repeated with its idempotency key answers as the first time did
    assert await app.complete_task(actor(app, LEAD), pid, concept["id"], data=good, request_id="key-1") == done


async def test_decisions_need_a_known_outcome_and_closed_projects_refuse(app: Coopflow):
    project = await start(app)
    pid = project["id"]
    await play(app, pid, until_step="funding_decision")
    decision = next(t for t in app.list_tasks(actor(app, LEAD)) if t["project_id"] == pid)
    err = await rejected(app, pid, InvalidData, LEAD, decision["id"], data={}, outcome="maybe")
    assert "approved, revise, rejected" in err.message
    await rejected(app, pid, InvalidData, LEAD, decision["id"], data={})
    await app.complete_task(actor(app, LEAD), pid, decision["id"], data={}, outcome="rejected")
    shown = app.show_project(actor(app, LEAD), pid)
    assert shown["status"] == "rejected"
    with pytest.raises(TaskClosed):
        await app.complete_task(actor(app, LEAD), pid, decision["id"], data={}, outcome="approved")


async def test_projects_one_may_not_see_are_not_found(app: Coopflow):
    project = await start(app, partners=PARTNERS[:1])
    outsider = actor(app, PARTNERS[2])
    with pytest.raises(NotFound):
        app.show_project(outsider, project["id"])
    with pytest.raises(NotFound):
        list(app.list_events(outsider, project["id"]))
    with pytest.raises(NotFound):
        await app.complete_task(outsider, project["id"], "t1", data={})
    assert project["id"] not in [p["id"] for p in app.list_projects(outsider)]
    assert project["id"] in [p["id"] for p in app.list_projects(actor(app, "auditor"))]
