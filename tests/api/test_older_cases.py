"""Cases started before coopflow sealed personal data ("older cases"), simulated faithfully: the workflow is
started as the older code started it (``StartProject`` with ``sealed`` False, return-referral v1) and its
values are recorded in clear through today's application layer. Proven: they stay in clear in the trail,
which still verifies; erasure is refused with 409 ``not_erasable``, saying why and what to do, and changes
nothing; the lead still gets the person's copy (Art. 15) and uninvolved partners still see nothing of the
person; the auditor's landing page marks such a case (and not a sealed one); and a history recorded by the
older code replays with today's workflow code on the production sandbox."""

from __future__ import annotations

import html
import json
import re
import uuid
from pathlib import Path

import httpx
from fastapi import FastAPI
from temporalio.client import WithStartWorkflowOperation, WorkflowHistory
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from domain import StartProject
from services.app import Coopflow
from services.seed import demo_email
from store.personal import data_keys
from tests.api.conftest import auth
from tests.utils.app import actor
from tests.web.conftest import http_login
from worker import workflow_runner
from workflows import ProjectInput, ProjectWorkflow, workflow_id
from workflows.inputs import LEAD as LEAD_ATTRIBUTE
from workflows.inputs import PHASE, STATUS

LEAD, CARITAS, HORIZON, DIFFERENT = "stadt-dortmund", "caritas-rs", "horizon-civitas-mk", "different-and-equal-al"
NAME, BORN, NEEDS = "Ljiljana Petrović-Krasniqi", "1991-04-02", "Dialysis three times a week"
HISTORY = Path(__file__).parent.parent / "histories" / "return-referral-v1-run1.json"


async def older_case(app: Coopflow) -> str:
    """A return referral started the way coopflow started one before sealing, referred to Horizon."""
    lead = actor(app, LEAD)
    pid = uuid.uuid4().hex[:12]
    command = StartProject(project_id=pid, title="Case 2024-031", template=app.templates.get("return-referral", 1),
                           lead=LEAD, partners=[CARITAS, HORIZON, DIFFERENT], actor=lead)  # sealed: False
    attributes = TypedSearchAttributes([SearchAttributePair(PHASE, "referral"), SearchAttributePair(STATUS, "active"),
                                        SearchAttributePair(LEAD_ATTRIBUTE, LEAD)])
    await app.client.execute_update_with_start_workflow(
        ProjectWorkflow.sync, start_workflow_operation=WithStartWorkflowOperation(
            ProjectWorkflow.run, ProjectInput(start=command, write_timeout=app.write_timeout), id=workflow_id(pid),
            task_queue=app.task_queue, search_attributes=attributes,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE), id=f"start-{pid}")
    await app.complete_task(lead, pid, "t1", data={"person_name": NAME, "date_of_birth": BORN, "consent": True,
                                                   "consent_on": "2024-03-04"})
    await app.complete_task(lead, pid, "t2", data={"partner": HORIZON, "needs": NEEDS})
    return pid


async def test_an_older_case_is_not_erased_but_read_as_before(app: Coopflow, http: httpx.AsyncClient,
                                                              tokens: dict[str, str]):
    pid = await older_case(app)

    async def get(path: str, org: str = LEAD) -> httpx.Response:
        got = await http.get(f"/api/projects/{pid}{path}", headers=auth(tokens[org]))
        assert got.status_code == 200, got.text
        return got

    events = (await get("/events", "audit-office")).json()
    consent = next(e for e in events if e["task_id"] == "t1" and e["type"] == "StepCompleted")["data"]["form"]
    assert (consent["person_name"], consent["date_of_birth"]) == (NAME, BORN), "in clear: that is an older case"
    project = (await get("")).json()
    assert project["template"] == {"id": "return-referral", "version": 1}
    assert project["personal_data"] == {"status": "kept", "sealed": False}
    assert data_keys(app.engine, pid) == [], "nothing was ever sealed"

    refused = await http.post(f"/api/projects/{pid}/personal-data/erase", headers=auth(tokens[LEAD]),
                              json={"reason": "The person asked for erasure"})
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "not_erasable" and error["details"] == {"project": "started before sealing"}
    assert "started before coopflow sealed personal data" in error["message"], "why"
    assert "restrict processing" in error["message"] and "data-protection officer" in error["message"], "what to do"

    assert (await get("/events", "audit-office")).json() == events, "nothing changed"
    after = (await get("")).json()
    assert (after["status"], after["seq"], after["personal_data"]) == ("active", project["seq"],
                                                                       {"status": "kept", "sealed": False})
    assert data_keys(app.engine, pid) == []
    assert (await get("/verify", "audit-office")).json()["ok"]

    copy = (await get("/personal-data")).json()  # the person's copy (Art. 15) holds for older cases too
    assert copy["status"] == "kept" and copy["sealed"] is False
    assert {(v["task_id"], v["field"], v["value"]) for v in copy["values"]} == {
        ("t1", "person_name", NAME), ("t1", "date_of_birth", BORN), ("t2", "needs", NEEDS)}
    referred = {t["id"]: t for t in (await get("", HORIZON)).json()["tasks"]}
    assert referred["t1"]["data"]["person_name"] == NAME, "the partner the person is referred to reads them"
    for org in (CARITAS, DIFFERENT):  # not involved: nothing of the person, on any interface
        shown = (await get("", org)).json()
        tasks = {t["id"]: t for t in shown["tasks"]}
        assert tasks["t1"]["redacted"] == ["date_of_birth", "person_name"] and tasks["t2"]["redacted"] == ["needs"]
        seen = json.dumps([shown, (await get("/events", org)).json()], ensure_ascii=False)
        assert not any(value in seen for value in (NAME, BORN, NEEDS)), org


async def test_the_auditors_landing_page_marks_older_cases_only(app: Coopflow, web: FastAPI):
    older = await older_case(app)
    sealed = (await app.start_project(actor(app, LEAD), title="Case 2027-002", partners=[CARITAS, HORIZON],
                                      template="return-referral"))["id"]
    rows: dict[str, str] = {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://test") as browser:
        await http_login(browser, demo_email("audit-office"))
        url: str | None = "/inbox"
        while url is not None:  # the latest changed first, a page at a time: other tests' projects too
            got = await browser.get(url)
            assert got.status_code == 200, got.text
            rows |= dict(re.findall(r'<tr data-project="(\w+)"[^>]*>(.*?)</tr>', got.text, re.S))
            if {older, sealed} <= rows.keys():
                break
            following = re.search(r'<a href="([^"]+)" rel="next">', got.text)
            url = html.unescape(following.group(1)) if following else None
    assert "data-plain-personal" in rows[older]
    assert "data-plain-personal" not in rows[sealed]


async def test_a_history_recorded_before_sealing_replays_with_todays_code():
    history = WorkflowHistory.from_json("return-referral-v1", HISTORY.read_text())
    replayer = Replayer(workflows=[ProjectWorkflow], data_converter=pydantic_data_converter,
                        workflow_runner=workflow_runner())
    result = await replayer.replay_workflow(history)
    assert result.replay_failure is None
