"""The expert-day and return-referral templates from start to end on the real dev server, every branch:
a declined referral referred again, a table host late (time-skipping server), a follow-up waived;
and the person's data kept out of workflow ids, search attributes, memo and logs."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
import structlog
from temporalio.testing import WorkflowEnvironment

from domain import InvalidData
from services.app import Coopflow
from tests.utils.app import LEAD, PARTNERS, actor
from tests.utils.histories import record, replayed, run_histories

CARITAS, HORIZON, DIFFERENT = PARTNERS
PERSON = "Zorica Ilievska-Marković"
BORN = "1987-05-14"
NEEDS = "Dialysis three times a week"


async def replay_and_record(app: Coopflow, pid: str, scenario: str) -> None:
    """The project's histories replay against today's code; with COOPFLOW_RECORD_HISTORY=<scenario>-v<n>
    they are written to tests/histories as ``<scenario>-v<n>-run<i>.json`` for the replay corpus."""
    histories = await replayed(await run_histories(app.client, pid))
    if "sqlite" in str(app.engine.url):
        record(histories, scenario)


async def complete(app: Coopflow, pid: str, step: str, data: dict[str, Any], outcome: str | None = None,
                   *, org: str | None = None) -> dict[str, Any]:
    """Complete the one open task of ``step`` (of ``org``, if given) as its organisation."""
    tasks = [t for t in app.show_project(actor(app, "auditor"), pid)["tasks"]
             if t["step"] == step and t["status"] == "open" and org in (None, t["assignee"])]
    assert len(tasks) == 1, (step, tasks)
    return await app.complete_task(actor(app, tasks[0]["assignee"]), pid, tasks[0]["id"], data=data,
                                   outcome=outcome)


def open_tasks(app: Coopflow, pid: str) -> list[tuple[str, str]]:
    return [(t["step"], t["assignee"]) for t in app.show_project(actor(app, "auditor"), pid)["tasks"]
            if t["status"] == "open"]


async def expert_day_until_tables(app: Coopflow) -> str:
    project = await app.start_project(actor(app, LEAD), title="Expert day on return", partners=PARTNERS,
                                      template="expert-day")
    pid = project["id"]
    assert project["template"] == {"id": "expert-day", "version": 3}
    await complete(app, pid, "plan_day", {"day_date": "2027-03-10", "venue": "Rathaus Dortmund",
                                          "target_audience": "Return counsellors"})
    for org in PARTNERS:
        await complete(app, pid, "confirm_speaker", {"speaker": f"Speaker of {org}", "topic": "Housing"}, org=org)
    await complete(app, pid, "define_tables", {
        "tables": f"{CARITAS} | Housing\n{HORIZON} | Work and training\n{LEAD} | Health"})
    await complete(app, pid, "hold_day", {"held_on": "2027-03-10", "participants": "64"})
    return pid


async def test_expert_day_from_start_to_end_with_a_follow_up_waived(app: Coopflow):
    pid = await expert_day_until_tables(app)
    tables = [t for t in app.show_project(actor(app, LEAD), pid)["tasks"] if t["step"] == "table_results"]
    assert [(t["assignee"], t["item"]["title"]) for t in tables] == [
        (CARITAS, "Housing"), (HORIZON, "Work and training"), (LEAD, "Health")]
    for table in tables:
        await app.complete_task(actor(app, table["assignee"]), pid, table["id"], data={"results": "Proposals"})
    await complete(app, pid, "documentation", {"summary": "Documented", "document_ref": "DMS-2027-17"})
    await complete(app, pid, "define_actions", {"actions": [
        {"org": CARITAS, "title": "Brochure in Serbian", "due": "2030-06-30"},
        {"org": HORIZON, "title": "Training for counsellors"},
        {"org": DIFFERENT, "title": "Hotline"}]})
    actions = {t["assignee"]: t for t in app.show_project(actor(app, LEAD), pid)["tasks"]
               if t["step"] == "follow_up_action"}
    assert actions[CARITAS]["due_at"] == "2030-06-30T23:59:59.000000Z"
    await app.change_project(actor(app, LEAD), pid, kind="waive", task_id=actions[DIFFERENT]["id"],
                             reason="Hotline funded elsewhere")
    await complete(app, pid, "follow_up_action", {"what_was_done": "Draft"}, org=CARITAS)
    await complete(app, pid, "review_action", {"comment": "Print it first"}, "not_yet")
    await complete(app, pid, "follow_up_action", {"what_was_done": "Printed"}, org=CARITAS)
    await complete(app, pid, "review_action", {}, "done")
    await complete(app, pid, "follow_up_action", {"what_was_done": "Two trainings"}, org=HORIZON)
    assert open_tasks(app, pid) == [("review_action", LEAD)]
    await complete(app, pid, "review_action", {}, "done")
    shown = app.show_project(actor(app, "auditor"), pid)
    assert shown["status"] == "completed"
    statuses = sorted((t["item"]["title"], t["round"], t["status"]) for t in shown["tasks"]
                      if t["step"] == "follow_up_action")
    assert statuses == [("Brochure in Serbian", 1, "completed"), ("Brochure in Serbian", 2, "completed"),
                        ("Hotline", 1, "waived"), ("Training for counsellors", 1, "completed")]
    assert app.verify(actor(app, "auditor"), pid)["ok"]
    await replay_and_record(app, pid, "expert-day")


async def test_a_table_host_that_submits_late(skipping_env: WorkflowEnvironment, skipping_app: Coopflow):
    app = skipping_app
    pid = await expert_day_until_tables(app)
    await skipping_env.sleep(timedelta(days=15))  # a table's results are due 14 days after the day
    await app.client.get_workflow_handle(f"project-{pid}").execute_update("sync")
    missed = [e for e in app.list_events(actor(app, "auditor"), pid) if e["type"] == "DeadlineMissed"]
    assert sorted(e["data"]["assignee"] for e in missed) == sorted([CARITAS, HORIZON, LEAD])
    for org in (CARITAS, LEAD):
        await complete(app, pid, "table_results", {"results": "On time after all"}, org=org)
    assert ("documentation", LEAD) not in open_tasks(app, pid), "waits for the late table"
    late = await complete(app, pid, "table_results", {"results": "Late, but here"}, org=HORIZON)
    assert late["status"] == "completed" and late["deadline_missed"] is True
    assert open_tasks(app, pid) == [("documentation", LEAD)]


async def test_return_referral_declined_then_referred_to_another_partner(app: Coopflow,
                                                                         caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs() as logged:
        pid = await _return_referral(app)
    shown = app.show_project(actor(app, "auditor"), pid)
    assert shown["status"] == "completed"
    assert shown["personal_data"]["status"] == "kept" and shown["personal_data"]["erase_at"] > shown["updated_at"]

    # who reads the person's data: the lead, the partner the person went to, auditors; not the others
    def consent(org: str) -> dict[str, Any]:
        project = app.show_project(actor(app, org), pid)
        return next(t for t in project["tasks"] if t["step"] == "record_consent")
    for org in (LEAD, HORIZON, "auditor"):
        assert consent(org)["data"]["person_name"] == PERSON, org
    for org in (CARITAS, DIFFERENT):  # Caritas declined: it is no longer involved
        seen = consent(org)
        assert "person_name" not in seen["data"] and seen["redacted"] == ["date_of_birth", "person_name"]
        assert seen["data"]["consent"] is True
        events = list(app.list_events(actor(app, org), pid))
        assert PERSON not in repr(events) and NEEDS not in repr(events)
    # the lead reads the trail whole, the person's values sealed (the hashes cover the sealed form)
    lead_events = repr(list(app.list_events(actor(app, LEAD), pid)))
    assert PERSON not in lead_events and NEEDS not in lead_events and "sealed:v1:" in lead_events

    # nowhere Temporal indexes or shows without the codec, and in no log line
    described = await app.client.get_workflow_handle(f"project-{pid}").describe()
    visible = [described.id, described.run_id or "", repr(described.typed_search_attributes),
               repr(await described.memo())]
    logs = [r.getMessage() + repr(r.__dict__) for r in caplog.records] + [repr(x) for x in logged]
    for needle in (PERSON, "Ilievska", BORN, NEEDS):
        assert not any(needle in v for v in visible), f"{needle!r} in a workflow id, search attribute or memo"
        assert not any(needle in line for line in logs), f"{needle!r} in a log line"

    # the ended case waited for its erasure; its history (the wait, the erasure) replays and is recorded
    await app.erase_personal_data(actor(app, LEAD), pid, reason="consent withdrawn")
    await replay_and_record(app, pid, "return-referral")


async def _return_referral(app: Coopflow) -> str:
    project = await app.start_project(actor(app, LEAD), title="Return of a person to North Macedonia",
                                      partners=PARTNERS, template="return-referral")
    pid = project["id"]
    refused = app.show_project(actor(app, LEAD), pid)["tasks"][0]
    with pytest.raises(InvalidData, match="consent"):  # the consent is explicit: required and true
        await app.complete_task(actor(app, LEAD), pid, refused["id"], data={
            "person_name": PERSON, "consent": False, "consent_on": "2026-01-04"})
    await complete(app, pid, "record_consent", {"person_name": PERSON, "date_of_birth": BORN, "consent": True,
                                                "consent_on": "2026-01-04"})
    await complete(app, pid, "refer", {"partner": CARITAS, "needs": NEEDS})
    assert open_tasks(app, pid) == [("accept_referral", CARITAS)]
    await complete(app, pid, "accept_referral", {"comment": "No capacity this winter"}, "decline")
    assert open_tasks(app, pid) == [("refer", LEAD)]
    await complete(app, pid, "refer", {"partner": HORIZON, "needs": NEEDS})
    assert open_tasks(app, pid) == [("accept_referral", HORIZON)]
    await complete(app, pid, "accept_referral", {}, "accept")
    await complete(app, pid, "reintegration_plan", {"plan": "Flat in Skopje, clinic appointment",
                                                    "arrival_on": "2027-02-01"})
    await complete(app, pid, "follow_up_3_months", {"situation": "Working part-time"})
    await complete(app, pid, "follow_up_6_months", {"situation": "Settled"})
    assert open_tasks(app, pid) == [("closure", LEAD)]
    await complete(app, pid, "closure", {"summary": "Reintegrated"})
    return pid
