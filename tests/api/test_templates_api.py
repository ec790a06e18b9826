"""The new templates over the JSON API: listed, started, a list of assignments completed, and the
person's data left out for a partner who is not involved."""

from __future__ import annotations

import json

import httpx

from domain.personal import is_sealed
from services.app import Coopflow
from tests.api.conftest import auth

LEAD, CARITAS, HORIZON, DIFFERENT = "stadt-dortmund", "caritas-rs", "horizon-civitas-mk", "different-and-equal-al"


async def test_templates_are_listed_with_their_descriptions(http: httpx.AsyncClient, tokens: dict[str, str]):
    found = (await http.get("/api/templates", headers=auth(tokens[CARITAS]))).json()
    assert [(t["id"], t["version"]) for t in found] == [("cooperation", 4), ("expert-day", 3), ("return-referral", 3)]
    assert all(t["description"]["sq"] and t["title"]["mk"] for t in found)


async def test_a_referral_over_the_api_hides_the_person_from_others(app: Coopflow, http: httpx.AsyncClient,
                                                                     tokens: dict[str, str]):
    lead = auth(tokens[LEAD])
    started = await http.post("/api/projects", headers=lead, json={
        "template": "return-referral", "title": "Return", "partners": [CARITAS, HORIZON, DIFFERENT]})
    assert started.status_code == 201, started.text
    pid = started.json()["id"]

    async def complete(token: str, task: str, data: dict[str, object], outcome: str | None = None) -> httpx.Response:
        return await http.post(f"/api/projects/{pid}/tasks/{task}/complete", headers=auth(token),
                               json={"data": data, **({"outcome": outcome} if outcome else {})})

    refused = await complete(tokens[LEAD], "t1", {"person_name": "Ana P.", "consent_on": "2026-01-04"})
    assert refused.status_code == 422 and refused.json()["error"]["details"]["consent"] == "is required"
    assert (await complete(tokens[LEAD], "t1", {"person_name": "Ana P.", "consent": True,
                                                "consent_on": "2026-01-04"})).status_code == 200
    wrong = await complete(tokens[LEAD], "t2", {"partner": "wien-ma17", "needs": "Housing"})
    assert wrong.status_code == 422 and "not a partner of this project" in wrong.json()["error"]["message"]
    assert (await complete(tokens[LEAD], "t2", {"partner": HORIZON, "needs": "Housing"})).status_code == 200
    assert (await complete(tokens[HORIZON], "t3", {}, "accept")).status_code == 200

    for org, sees in ((LEAD, True), (HORIZON, True), ("audit-office", True), (CARITAS, False), (DIFFERENT, False)):
        project = (await http.get(f"/api/projects/{pid}", headers=auth(tokens[org]))).json()
        consent = next(t for t in project["tasks"] if t["step"] == "record_consent")
        assert ("person_name" in consent["data"]) is sees, org
        assert ("redacted" in consent) is not sees, org
        completed = (await http.get(f"/api/projects/{pid}/tasks", params={"status": "completed"},
                                    headers=auth(tokens[org]))).json()
        assert completed == [t for t in project["tasks"] if t["status"] == "completed"], org  # redacted alike
        assert ("Housing" in json.dumps(project)) is sees, org  # the needs, personal too
        # the trail holds them sealed (its hashes cover that): whole for those who may read it, else left out
        events = (await http.get(f"/api/projects/{pid}/events", headers=auth(tokens[org]))).json()
        consented = next(e for e in events if e["task_id"] == "t1" and e["type"] == "StepCompleted")
        assert "Ana P." not in json.dumps(events) and "Housing" not in json.dumps(events), org
        assert is_sealed(consented["data"]["form"].get("person_name")) is sees, org
