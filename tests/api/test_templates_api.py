"""The new templates over the JSON API: listed, started, a list of assignments completed, and the
person's data left out for a partner who is not involved."""

from __future__ import annotations

import httpx

from services.app import Coopflow
from tests.api.conftest import auth

LEAD, CARITAS, HORIZON, DIFFERENT = "stadt-dortmund", "caritas-rs", "horizon-civitas-mk", "different-and-equal-al"


async def test_templates_are_listed_with_their_descriptions(http: httpx.AsyncClient, tokens: dict[str, str]):
    found = (await http.get("/api/templates", headers=auth(tokens[CARITAS]))).json()
    assert [(t["id"], t["version"]) for t in found] == [("cooperation", 3), ("expert-day", 1), ("return-referral", 1)]
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

    refused = await complete(tokens[LEAD], "t1", {"person_name": "Ana P.", "consent_on": "2027-01-04"})
    assert refused.status_code == 422 and refused.json()["error"]["details"]["consent"] == "is required"
    assert (await complete(tokens[LEAD], "t1", {"person_name": "Ana P.", "consent": True,
                                                "consent_on": "2027-01-04"})).status_code == 200
    wrong = await complete(tokens[LEAD], "t2", {"partner": "wien-ma17", "needs": "Housing"})
    assert wrong.status_code == 422 and "not an organisation of this project" in wrong.json()["error"]["message"]
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
        events = (await http.get(f"/api/projects/{pid}/events", headers=auth(tokens[org]))).text
        assert ("Ana P." in events) is sees, org
        assert ("Housing" in events) is sees, org  # the needs, personal too
