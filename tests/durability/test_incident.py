"""A write the store can never take: an incident people see, a history that stops growing, a retry."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.engine import Engine
from temporalio.client import WorkflowUpdateFailedError

from commands.common import OPERATOR
from domain import CompleteTask
from services.app import Coopflow
from services.seed import demo_email
from store import StoreUnavailable, accounts
from tests.durability.conftest import Workers, assert_exactly_once
from tests.utils.app import LEAD, PARTNERS, actor, start
from tests.utils.scenario import SAMPLE_DATA
from tests.utils.tamper import tamper
from web.app import create_app
from workflows import ProjectWorkflow


async def history_length(app: Coopflow, project_id: str) -> int:
    return len((await app.client.get_workflow_handle(f"project-{project_id}").fetch_history()).events)


async def test_a_refused_write_opens_an_incident_until_an_operator_retries(caller: Coopflow, workers: Workers):
    lead = actor(caller, LEAD)
    async with workers.in_process():
        project = await start(caller)
        pid, planted = project["id"], project["seq"] + 1
        # someone wrote another event at the seq the completion will take (a restored backup, a bug)
        with caller.engine.begin() as conn:
            conn.execute(text("INSERT INTO audit_event (project_id, seq, type, at, data, prev_hash, hash) "
                              "VALUES (:p, :s, 'Planted', '2027-01-01T00:00:00.000000Z', '{}', :h, :h)"),
                         {"p": pid, "s": planted, "h": "f" * 64})
        with structlog.testing.capture_logs() as logs:
            with pytest.raises(StoreUnavailable, match="accepted, but the audit store refused") as refused:
                await caller.complete_task(lead, pid, "t1", data=SAMPLE_DATA["concept_note"], request_id="k1")
        assert refused.value.details["incident"]["seq"] == planted
        assert any(e["log_level"] == "error" and e.get("project_id") == pid and "refused" in e["event"] for e in logs)

        # everyone can see it: the project, the health check, the verifier, the operator's list
        incident = caller.show_project(lead, pid)["incident"]
        assert incident["seq"] == planted and "another hash" in incident["reason"]
        assert {"project_id": pid, "seq": planted, "since": incident["since"]} in (await caller.health())["incidents"]
        auditor = actor(caller, "auditor")
        assert not caller.verify(auditor, pid)["ok"]
        against = await caller.verify_against_history(auditor, pid)
        reasons = {p["seq"]: p["reason"] for p in against["problems"]}
        assert reasons[planted] == "differs from the event the workflow recorded"
        assert "the store refused it" in reasons[planted + 1]
        assert [i["project_id"] for i in caller.incidents(OPERATOR)] == [pid]

        # the project is paused: new changes are refused before they reach the history
        handle = caller.client.get_workflow_handle(f"project-{pid}")
        partner = actor(caller, PARTNERS[0])
        before = await history_length(caller, pid)
        with pytest.raises(WorkflowUpdateFailedError) as paused:
            await handle.execute_update(ProjectWorkflow.complete_task, CompleteTask(
                task_id="t2", actor=partner, data=SAMPLE_DATA["letter_of_intent"]))
        assert paused.value.cause.type == "store_unavailable"
        await asyncio.sleep(3)  # and nothing retries in the background: the history stays as it is
        assert await history_length(caller, pid) == before

        # a retry while the store is still wrong is refused again, and says so
        progress = await caller.retry_incident(OPERATOR, pid)
        assert progress["incident"]["seq"] == planted and progress["written"] == planted - 1

        # the operator mends the store and retries: the kept events are written, the incident is gone
        tamper(caller.engine, "DELETE FROM audit_event WHERE project_id = :p AND seq = :s", p=pid, s=planted)
        progress = await caller.retry_incident(OPERATOR, pid)
        assert progress["incident"] is None and progress["written"] == progress["seq"]
        assert caller.show_project(lead, pid)["incident"] is None and caller.incidents(OPERATOR) == []
        assert "incidents" not in await caller.health()
        first = await caller.complete_task(lead, pid, "t1", data=SAMPLE_DATA["concept_note"], request_id="k1")
        assert first["status"] == "completed"
        await assert_exactly_once(caller, pid, "t1", lead.user)
        # and the project moves on
        done = await caller.complete_task(partner, pid, "t2", data=SAMPLE_DATA["letter_of_intent"])
        assert done["status"] == "completed"


SECRET = "Geheimsache-Ljiljana-Petrovic-4711"


@contextmanager
def refusing(engine: Engine, project_id: str, from_seq: int) -> Iterator[None]:
    """The store refuses this project's events from ``from_seq`` on, as a constraint the data breaks would:
    PostgreSQL by a CHECK constraint (whose error shows the failing row), SQLite by a trigger."""
    name = f"refuse_{project_id.replace('-', '_')}"
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"ALTER TABLE audit_event ADD CONSTRAINT {name} "
                              f"CHECK (project_id <> '{project_id}' OR seq < {from_seq}) NOT VALID"))
        else:
            conn.execute(text(f"CREATE TRIGGER {name} BEFORE INSERT ON audit_event WHEN NEW.project_id = "
                              f"'{project_id}' AND NEW.seq >= {from_seq} BEGIN SELECT RAISE(ABORT, "
                              "'refused by the test'); END"))
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"ALTER TABLE audit_event DROP CONSTRAINT {name}" if engine.dialect.name ==
                              "postgresql" else f"DROP TRIGGER {name}"))


async def test_an_incident_reason_names_the_refusal_never_the_form_data(caller: Coopflow, workers: Workers):
    """The reason every member reads (and the worker's log line) says which rule the store applied, not
    the statement's values: no form value, no row."""
    lead = actor(caller, LEAD)
    async with workers.in_process():
        project = await start(caller)
        pid = project["id"]
        with refusing(caller.engine, pid, project["seq"] + 1):
            with structlog.testing.capture_logs() as logs, pytest.raises(StoreUnavailable):
                await caller.complete_task(lead, pid, "t1", data={**SAMPLE_DATA["concept_note"], "summary": SECRET})
        token = accounts.rotate_token(caller.engine, demo_email(PARTNERS[0]))
        web = create_app(coopflow=caller, secret="s")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://test") as http:
            shown = (await http.get(f"/api/projects/{pid}", headers={"Authorization": f"Bearer {token}"})).json()
    reason = shown["incident"]["reason"]
    print("incident reason:", reason)
    for needle in (SECRET, "Ljiljana", "4711", "250000", "Safe returns"):
        assert needle not in reason, f"{needle!r} is in the incident reason every member reads"
        assert not any(needle in str(e) for e in logs), f"{needle!r} is in the worker's log"
    assert "IntegrityError" in reason, "the reason still says what kind of refusal it was"
    if caller.engine.dialect.name == "postgresql":
        assert "23514" in reason and f"refuse_{pid}" in reason, "SQLSTATE and the constraint are named"
