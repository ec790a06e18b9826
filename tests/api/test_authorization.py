"""Who may do what, route by route: every role, on its own project and on another's."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import OTHER_LEAD, auth

LEAD = "stadt-dortmund"
IN, OUT = "caritas-rs", "different-and-equal-al"  # a partner in the project, and one that is not
CALLERS = {"lead coordinator": LEAD, "other lead's coordinator": OTHER_LEAD, "partner in it": IN,
           "partner not in it": OUT, "auditor": "audit-office"}

# expected status for each (route, caller) on a project led by stadt-dortmund with caritas-rs
MATRIX = {
    "show":     {LEAD: 200, OTHER_LEAD: 404, IN: 200, OUT: 404, "audit-office": 200},
    "as_of":    {LEAD: 200, OTHER_LEAD: 404, IN: 200, OUT: 404, "audit-office": 200},
    "tasks":    {LEAD: 200, OTHER_LEAD: 404, IN: 200, OUT: 404, "audit-office": 200},
    "events":   {LEAD: 200, OTHER_LEAD: 404, IN: 200, OUT: 404, "audit-office": 200},
    "verify":   {LEAD: 200, OTHER_LEAD: 404, IN: 404, OUT: 404, "audit-office": 200},
    "complete": {LEAD: 200, OTHER_LEAD: 404, IN: 403, OUT: 404, "audit-office": 403},
}


@pytest.fixture
async def project(http: httpx.AsyncClient, tokens: dict[str, str]) -> dict:
    response = await http.post("/api/projects", headers=auth(tokens[LEAD]), json={
        "template": "cooperation", "title": "Matrix", "partners": [IN, "horizon-civitas-mk"]})
    assert response.status_code == 201
    return response.json()


async def call(http: httpx.AsyncClient, route: str, project: dict, token: str) -> httpx.Response:
    pid, task = project["id"], project["tasks"][0]
    return await {
        "show": lambda: http.get(f"/api/projects/{pid}", headers=auth(token)),
        "as_of": lambda: http.get(f"/api/projects/{pid}", params={"as_of": project["updated_at"]},
                                  headers=auth(token)),
        "tasks": lambda: http.get(f"/api/projects/{pid}/tasks", params={"status": "open"}, headers=auth(token)),
        "events": lambda: http.get(f"/api/projects/{pid}/events", headers=auth(token)),
        "verify": lambda: http.get(f"/api/projects/{pid}/verify", headers=auth(token)),
        "complete": lambda: http.post(f"/api/projects/{pid}/tasks/{task['id']}/complete", headers=auth(token),
                                      json={"data": {"summary": "s", "budget_eur": 1, "duration_months": 2}}),
    }[route]()


@pytest.mark.parametrize("route", list(MATRIX))
async def test_route_by_route(http: httpx.AsyncClient, tokens: dict[str, str], project: dict, route: str):
    order = sorted(CALLERS.values(), key=lambda org: org == LEAD)  # the lead last: its completion changes state
    for org in order:
        response = await call(http, route, project, tokens[org])
        assert response.status_code == MATRIX[route][org], (route, org, response.text)
        if response.status_code == 404:
            assert response.json()["error"]["code"] == "not_found"  # not 403: it does not reveal the project
        if response.status_code == 403:
            assert response.json()["error"]["code"] == "not_assigned"


async def test_who_may_start_projects(http: httpx.AsyncClient, tokens: dict[str, str]):
    body = {"template": "cooperation", "title": "x", "partners": [IN]}
    for org, status in {LEAD: 201, OTHER_LEAD: 201, IN: 403, "audit-office": 403}.items():
        response = await http.post("/api/projects", headers=auth(tokens[org]), json=body)
        assert response.status_code == status, (org, response.text)
        if status == 201:
            assert response.json()["lead"] == org  # the lead is always the caller's organisation


async def test_lists_show_only_what_each_may_see(http: httpx.AsyncClient, tokens: dict[str, str], project: dict):
    pid = project["id"]
    seen = {org: [p["id"] for p in (await http.get("/api/projects", headers=auth(tokens[org]))).json()]
            for org in CALLERS.values()}
    assert pid in seen[LEAD] and pid in seen[IN] and pid in seen["audit-office"]
    assert pid not in seen[OTHER_LEAD] and pid not in seen[OUT]
    tasks = {org: (await http.get("/api/tasks", headers=auth(tokens[org]))).json() for org in CALLERS.values()}
    assert any(t["project_id"] == pid for t in tasks[LEAD])
    for org, found in tasks.items():
        expected = "auditor" if org == "audit-office" else org
        assert all(t["assignee"] == expected for t in found), org


async def test_an_auditor_completes_only_auditor_tasks_and_changes_nothing_else(
        http: httpx.AsyncClient, tokens: dict[str, str], project: dict):
    response = await http.post("/api/projects", headers=auth(tokens["audit-office"]), json={
        "template": "cooperation", "title": "x", "partners": [IN]})
    assert response.status_code == 403
    response = await call(http, "complete", project, tokens["audit-office"])
    assert response.status_code == 403 and response.json()["error"]["code"] == "not_assigned"
