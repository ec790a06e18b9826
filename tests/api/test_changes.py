"""Changes and requests for more time over the API, with who may make them."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from services.app import Coopflow
from tests.api.conftest import OTHER_LEAD, auth
from tests.api.test_api import LEAD, PARTNERS, start
from tests.utils.scenario import SAMPLE_DATA

NEXT_YEAR = datetime.now(UTC).year + 1  # a due date later than any task's now, and within five years


async def letters(http: httpx.AsyncClient, tokens: dict[str, str]) -> tuple[str, list[dict]]:
    project = await start(http, tokens)
    pid = project["id"]
    done = await http.post(f"/api/projects/{pid}/tasks/t1/complete", headers=auth(tokens[LEAD]),
                           json={"data": SAMPLE_DATA["concept_note"]})
    assert done.status_code == 200
    shown = (await http.get(f"/api/projects/{pid}", headers=auth(tokens[LEAD]))).json()
    return pid, [t for t in shown["tasks"] if t["status"] == "open"]


async def test_only_the_leads_coordinators_change_a_project(http: httpx.AsyncClient, tokens: dict[str, str]):
    pid, _ = await letters(http, tokens)
    body = {"kind": "cancel", "reason": "funding withdrawn"}
    for org, status, code in ((PARTNERS[0], 403, "forbidden"), ("audit-office", 403, "forbidden"),
                              (OTHER_LEAD, 404, "not_found")):
        answer = await http.post(f"/api/projects/{pid}/changes", headers=auth(tokens[org]), json=body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), org
    bad = await http.post(f"/api/projects/{pid}/changes", headers=auth(tokens[LEAD]), json={"kind": "cancel"})
    assert bad.status_code == 422 and "reason" in bad.json()["error"]["details"]
    done = await http.post(f"/api/projects/{pid}/changes", headers=auth(tokens[LEAD]), json=body)
    assert done.status_code == 200 and done.json()["status"] == "cancelled"
    assert not [t for t in done.json()["tasks"] if t["status"] == "open"]
    again = await http.post(f"/api/projects/{pid}/changes", headers=auth(tokens[LEAD]), json=body)
    assert again.status_code == 409


async def test_every_change_kind_over_the_api(app: Coopflow, http: httpx.AsyncClient, tokens: dict[str, str]):
    pid, open_tasks = await letters(http, tokens)
    lead = auth(tokens[LEAD])
    url = f"/api/projects/{pid}/changes"
    first, second, third = open_tasks
    change = {"kind": "extend_deadline", "reason": "holidays", "task_id": first["id"],
              "due_at": f"{NEXT_YEAR}-01-31T17:00:00Z"}
    extended = await http.post(url, headers=lead, json=change)
    assert extended.status_code == 200, extended.text
    due = next(t for t in extended.json()["tasks"] if t["id"] == first["id"])["due_at"]
    assert due == f"{NEXT_YEAR}-01-31T17:00:00.000000Z"
    moved = await http.post(url, headers=lead, json={
        "kind": "reassign", "reason": "signatory away", "task_id": second["id"], "org": PARTNERS[2]})
    assert next(t for t in moved.json()["tasks"] if t["id"] == second["id"])["assignee"] == PARTNERS[2]
    inbox = (await http.get("/api/tasks", headers=auth(tokens[PARTNERS[2]]))).json()
    assert second["id"] in {t["id"] for t in inbox if t["project_id"] == pid}
    waived = await http.post(url, headers=lead, json={"kind": "waive", "reason": "sent by post",
                                                      "task_id": third["id"]})
    assert next(t for t in waived.json()["tasks"] if t["id"] == third["id"])["status"] == "waived"
    unknown = await http.post(url, headers=lead, json={"kind": "add_partner", "reason": "joins", "org": "nobody-here"})
    assert unknown.status_code == 422 and unknown.json()["error"]["details"] == {"org": "unknown"}
    auditing = await http.post(url, headers=lead, json={"kind": "add_partner", "reason": "x", "org": "audit-office"})
    assert auditing.status_code == 422
    withdrawn = await http.post(url, headers=lead, json={"kind": "withdraw_partner", "reason": "left the network",
                                                         "org": PARTNERS[1]})
    assert withdrawn.status_code == 200 and PARTNERS[1] not in withdrawn.json()["partners"]
    # the withdrawn partner no longer sees the project; the trail has every change with its reason
    assert (await http.get(f"/api/projects/{pid}", headers=auth(tokens[PARTNERS[1]]))).status_code == 404
    events = (await http.get(f"/api/projects/{pid}/events", headers=lead)).json()
    changes = [(e["type"], e["data"].get("reason")) for e in events if e["data"].get("reason")]
    assert changes == [("DeadlineExtended", "holidays"), ("TaskReassigned", "signatory away"),
                       ("StepWaived", "sent by post"), ("PartnerWithdrawn", "left the network")]
    assert (await http.get(f"/api/projects/{pid}/verify", headers=lead)).json()["ok"]


async def test_a_partner_asks_for_more_time_and_the_coordinator_grants_it(http: httpx.AsyncClient,
                                                                         tokens: dict[str, str]):
    pid, open_tasks = await letters(http, tokens)
    mine = next(t for t in open_tasks if t["assignee"] == PARTNERS[0])
    url = f"/api/projects/{pid}/tasks/{mine['id']}/extension"
    refused = await http.post(url, headers=auth(tokens[PARTNERS[1]]), json={"due_at": f"{NEXT_YEAR}-01-01",
                                                                           "reason": "x"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "not_assigned")
    asked = await http.post(url, headers=auth(tokens[PARTNERS[0]]), json={"due_at": f"{NEXT_YEAR}-02-28T17:00:00Z",
                                                                         "reason": "board meets in February"})
    assert asked.status_code == 200, asked.text
    (decision,) = [t for t in asked.json()["tasks"] if t["step"] == "extension_decision"]
    assert decision["assignee"] == LEAD and decision["subject_task"] == mine["id"]
    granted = await http.post(f"/api/projects/{pid}/tasks/{decision['id']}/complete", headers=auth(tokens[LEAD]),
                              json={"outcome": "grant", "data": {"comment": "fine"}})
    assert granted.status_code == 200
    shown = (await http.get(f"/api/projects/{pid}", headers=auth(tokens[LEAD]))).json()
    assert next(t for t in shown["tasks"] if t["id"] == mine["id"])["due_at"] == f"{NEXT_YEAR}-02-28T17:00:00.000000Z"
