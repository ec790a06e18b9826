"""Retention on the time-skipping server: an ended return referral (template v2, ``retention: P3Y``) keeps
its person's data until three years after it ended — two days before, it is still all there — and then
erases it by itself (actor None: the system), once, also when the worker was replaced during the wait; a
coordinator's erasure during the wait ends the workflow at once, and the retention adds no second one."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from domain import format_time, parse_time
from services.app import Coopflow
from services.sealing import KeyEncryptionKeys
from store.personal import data_keys
from tests.utils.app import LEAD, PARTNERS, actor
from tests.workflow.test_template_lifecycles import complete
from worker import build_worker
from workflows import ProjectWorkflow, workflow_id

HORIZON = PARTNERS[1]
PERSON, NEEDS = "Zorica Ilievska-Marković", "Dialysis three times a week"
RETENTION = "retention period ended"


async def ended_case(app: Coopflow, ending: str) -> str:
    """A return referral referred to Horizon, then closed (``completed``) or cancelled by the lead."""
    lead = actor(app, LEAD)
    pid = (await app.start_project(lead, title="Return to Skopje", partners=PARTNERS,
                                   template="return-referral"))["id"]
    await complete(app, pid, "record_consent", {"person_name": PERSON, "date_of_birth": "1987-05-14",
                                                "consent": True, "consent_on": "2026-01-04"})
    await complete(app, pid, "refer", {"partner": HORIZON, "needs": NEEDS})
    if ending == "cancelled":
        await app.change_project(lead, pid, kind="cancel", reason="The person decided to stay")
        return pid
    await complete(app, pid, "accept_referral", {}, "accept")
    await complete(app, pid, "reintegration_plan", {"plan": "Flat in Skopje"})
    await complete(app, pid, "follow_up_3_months", {"situation": "Working part-time"})
    await complete(app, pid, "follow_up_6_months", {"situation": "Settled"})
    await complete(app, pid, "closure", {"summary": "Reintegrated"})
    return pid


def three_years_after(moment: datetime) -> datetime:
    """The same day and time three calendar years later (29 February: the 28th)."""
    try:
        return moment.replace(year=moment.year + 3)
    except ValueError:
        return moment.replace(year=moment.year + 3, day=28)


def erasures(app: Coopflow, pid: str) -> list[dict[str, Any]]:
    return [e for e in app.list_events(actor(app, "auditor"), pid) if e["type"] == "PersonalDataErased"]


async def status_soon(handle: WorkflowHandle[Any, Any]) -> WorkflowExecutionStatus | None:
    """The workflow's status once it is no longer running, or after 20 s (no time is skipped meanwhile)."""
    for _ in range(200):
        status = (await handle.describe()).status
        if status != WorkflowExecutionStatus.RUNNING:
            break
        await asyncio.sleep(0.1)
    return status


async def kept_until(env: WorkflowEnvironment, app: Coopflow, pid: str, ending: str) -> datetime:
    """The ended project keeps its data with ``erase_at`` = its end + 3 years; skipped to two days
    before, it still does (the workflow caught up, still waiting). Returns ``erase_at``."""
    lead = actor(app, LEAD)
    ended = next(e["at"] for e in app.list_events(lead, pid) if e["type"] in ("ProjectEnded", "ProjectCancelled"))
    project = app.show_project(lead, pid)
    assert project["status"] == ending
    erase_at = three_years_after(parse_time(ended))
    assert project["personal_data"] == {"status": "kept", "sealed": True, "erase_at": format_time(erase_at)}
    await env.sleep(erase_at - await env.get_current_time() - timedelta(days=2))
    handle = app.client.get_workflow_handle(workflow_id(pid))
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING, "still waiting"
    # all that was due by now has happened (a workflow that cannot replay its history never answers)
    await asyncio.wait_for(handle.execute_update(ProjectWorkflow.sync), timeout=30)
    assert await env.get_current_time() < erase_at
    assert app.show_project(lead, pid)["personal_data"]["status"] == "kept"
    assert erasures(app, pid) == [] and data_keys(app.engine, pid), "nothing erased yet"
    consent = next(t for t in app.show_project(lead, pid)["tasks"] if t["step"] == "record_consent")
    assert consent["data"]["person_name"] == PERSON and consent["erased_fields"] == []
    return erase_at


async def erased_by_the_system(env: WorkflowEnvironment, app: Coopflow, pid: str, erase_at: datetime,
                               ending: str) -> None:
    """Once skipped past ``erase_at``: one erasure by the system at that moment, the keys and values gone,
    the workflow completed."""
    await env.sleep(timedelta(days=3))
    handle: WorkflowHandle[Any, Any] = app.client.get_workflow_handle(workflow_id(pid))
    assert await status_soon(handle) == WorkflowExecutionStatus.COMPLETED, "it has ended by now"
    assert await handle.result() == ending
    (erased,) = erasures(app, pid)
    assert erased["actor"] is None and erased["data"]["reason"] == RETENTION
    assert erased["data"]["values"] == (3 if ending == "cancelled" else 6) and erased["data"]["documents"] == 0
    assert erase_at <= parse_time(erased["at"]) < erase_at + timedelta(days=3), "at the end of the retention"
    project = app.show_project(actor(app, LEAD), pid)
    assert project["personal_data"] == {"status": "erased", "erased_at": erased["at"], "sealed": True,
                                        "erased_by": {"org": None, "role": "system"}, "reason": RETENTION}
    assert data_keys(app.engine, pid) == []
    tasks = {t["step"]: t for t in project["tasks"]}
    assert tasks["record_consent"]["data"]["person_name"] is None
    assert tasks["record_consent"]["data"]["date_of_birth"] is None
    assert tasks["record_consent"]["erased_fields"] == ["date_of_birth", "person_name"]
    assert tasks["record_consent"]["data"]["consent"] is True, "what is not personal stays"
    assert tasks["refer"]["data"] == {"partner": HORIZON, "needs": None} and tasks["refer"]["erased_fields"] == [
        "needs"]
    assert app.verify(actor(app, "auditor"), pid)["ok"], "the trail still verifies"


@pytest.mark.parametrize("ending", ["completed", "cancelled"])
async def test_an_ended_case_is_erased_by_the_system_when_its_retention_ends(
        skipping_env: WorkflowEnvironment, skipping_app: Coopflow, ending: str):
    pid = await ended_case(skipping_app, ending)
    erase_at = await kept_until(skipping_env, skipping_app, pid, ending)
    await erased_by_the_system(skipping_env, skipping_app, pid, erase_at, ending)


async def test_a_worker_replaced_during_the_wait_still_erases_once(
        skipping_env: WorkflowEnvironment, sqlite_engine: Engine, key_encryption_keys: KeyEncryptionKeys):
    task_queue = f"tq-{uuid.uuid4()}"
    app = Coopflow(engine=sqlite_engine, client=skipping_env.client, task_queue=task_queue,
                   key_encryption_keys=key_encryption_keys)  # one application layer throughout
    # The time-skipping server never moves a workflow task off a stopped worker's sticky queue (a real one
    # does; ResetStickyTaskQueue is unimplemented there): the first worker caches no workflow, so none is
    # bound to it. It is otherwise the production worker.
    first = build_worker(skipping_env.client, sqlite_engine, task_queue, max_cached_workflows=0)
    async with first:
        pid = await ended_case(app, "completed")
        await skipping_env.sleep(timedelta(days=200))
    await skipping_env.sleep(timedelta(days=200))  # no worker at all
    async with build_worker(skipping_env.client, sqlite_engine, task_queue):  # replays the history it never saw
        erase_at = await kept_until(skipping_env, app, pid, "completed")
        await erased_by_the_system(skipping_env, app, pid, erase_at, "completed")


async def test_a_coordinators_erasure_during_the_wait_ends_it_and_retention_adds_none(
        skipping_env: WorkflowEnvironment, skipping_app: Coopflow):
    app = skipping_app
    pid = await ended_case(app, "cancelled")
    erase_at = three_years_after(parse_time(app.show_project(actor(app, LEAD), pid)["updated_at"]))
    await skipping_env.sleep(timedelta(days=200))
    answer = await app.erase_personal_data(actor(app, LEAD), pid, reason="The person asked for erasure")
    handle: WorkflowHandle[Any, Any] = app.client.get_workflow_handle(workflow_id(pid))
    assert await status_soon(handle) == WorkflowExecutionStatus.COMPLETED, "it ends at once"
    assert await handle.result() == "cancelled"
    assert parse_time(answer["erased_at"]) < erase_at - timedelta(days=300)

    await skipping_env.sleep(erase_at - await skipping_env.get_current_time() + timedelta(days=30))
    (erased,) = erasures(app, pid)
    assert erased["actor"]["org"] == LEAD and erased["data"]["reason"] == "The person asked for erasure"
    assert erased["at"] == answer["erased_at"]
    assert app.show_project(actor(app, LEAD), pid)["personal_data"] == {
        "status": "erased", "erased_at": answer["erased_at"], "sealed": True,
        "erased_by": {"org": LEAD, "role": "coordinator"}, "reason": "The person asked for erasure"}
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
