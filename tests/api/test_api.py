"""The JSON API: the lifecycle over HTTP, every error code, the idempotent retry."""

from __future__ import annotations

import re
import threading

import httpx
import pytest
from sqlalchemy import create_engine

from services.app import Coopflow
from store import accounts, read
from tests.api.conftest import auth
from tests.utils.scenario import SAMPLE_DATA, next_move
from web.app import create_app

LEAD, PARTNERS = "stadt-dortmund", ["caritas-rs", "horizon-civitas-mk", "different-and-equal-al"]


def who(task: dict) -> str:
    return "audit-office" if task["assignee"] == "auditor" else task["assignee"]


async def start(http: httpx.AsyncClient, tokens: dict[str, str], partners=PARTNERS, **extra) -> dict:
    response = await http.post("/api/projects", headers=auth(tokens[LEAD]), json={
        "template": "cooperation", "title": "Return counselling pilot", "partners": partners,
        "parameters": {"report_count": 1}, **extra})
    assert response.status_code == 201, response.text
    return response.json()


async def test_whole_lifecycle_over_http(http: httpx.AsyncClient, tokens: dict[str, str]):
    assert (await http.get("/api/health")).json() == {"status": "ok", "temporal": "ok", "store": "ok"}
    templates = (await http.get("/api/templates", headers=auth(tokens[LEAD]))).json()
    assert templates[0]["id"] == "cooperation" and templates[0]["phases"][0] == "funding_application"
    project = await start(http, tokens)
    pid = project["id"]
    assert project["lead"] == LEAD and project["template"] == {"id": "cooperation", "version": 4}
    moves = 0
    while True:
        shown = (await http.get(f"/api/projects/{pid}", headers=auth(tokens[LEAD]))).json()
        move = next_move(shown["tasks"], PARTNERS[0], loops=True)
        open_now = (await http.get(f"/api/projects/{pid}/tasks", params={"status": "open"},
                                   headers=auth(tokens[PARTNERS[1]]))).json()
        assert open_now == [t for t in shown["tasks"] if t["status"] == "open"]
        if move is None:
            break
        task, data, outcome = move
        inbox = (await http.get("/api/tasks", headers=auth(tokens[who(task)]))).json()
        assert task["id"] in [t["id"] for t in inbox if t["project_id"] == pid]
        response = await http.post(f"/api/projects/{pid}/tasks/{task['id']}/complete",
                                   headers=auth(tokens[who(task)]), json={"data": data, "outcome": outcome})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "completed" and response.json()["completed_by"]["org"] == who(task)
        moves += 1
    assert shown["status"] == "completed" and moves > 40
    assert (await http.get(f"/api/projects/{pid}/tasks", headers=auth(tokens[LEAD]))).json() == shown["tasks"]
    refused = await http.get(f"/api/projects/{pid}/tasks", params={"status": "done"}, headers=auth(tokens[LEAD]))
    assert refused.status_code == 422 and "status" in str(refused.json()["error"]["details"])
    events, url = [], f"/api/projects/{pid}/events"
    while url:  # pages of 100 at most (this trail has more): the next one is in the Link header
        page = await http.get(url, headers=auth(tokens["audit-office"]))
        assert len(page.json()) <= 100
        events += page.json()
        url = next(iter(re.findall(r'<([^>]+)>; rel="next"', page.headers.get("link", ""))), "")
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert set(events[0]) == {"seq", "type", "at", "actor", "phase", "step", "task_id", "data", "prev_hash", "hash"}
    check = (await http.get(f"/api/projects/{pid}/verify", headers=auth(tokens["audit-office"]))).json()
    assert check["ok"] and check["count"] == len(events) and check["problems"] == []
    past = (await http.get(f"/api/projects/{pid}", params={"as_of": events[5]["at"]},
                           headers=auth(tokens["audit-office"]))).json()
    assert past["phase"] == "funding_application" and past["as_of"].startswith(events[5]["at"][:19])
    decisions = (await http.get(f"/api/projects/{pid}/events", params={"type": "DecisionRecorded", "org": LEAD},
                                headers=auth(tokens["audit-office"]))).json()
    assert decisions and all(e["type"] == "DecisionRecorded" and e["actor"]["org"] == LEAD for e in decisions)


def error_of(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert body["error"]["message"].endswith(".") and len(body["error"]["message"]) > 15
    return body["error"]


async def test_every_error_code(http: httpx.AsyncClient, tokens: dict[str, str], app: Coopflow):
    project = await start(http, tokens)
    pid, concept = project["id"], project["tasks"][0]["id"]
    url = f"/api/projects/{pid}/tasks/{concept}/complete"

    error_of(await http.get("/api/projects"), 401, "unauthorized")
    error_of(await http.get("/api/projects", headers=auth("cf_not-a-token")), 401, "unauthorized")
    error_of(await http.post("/api/projects", headers=auth(tokens["caritas-rs"]), json={
        "template": "cooperation", "title": "x", "partners": ["horizon-civitas-mk"]}), 403, "forbidden")
    error_of(await http.post(url, headers=auth(tokens["caritas-rs"]), json={"data": {}}), 403, "not_assigned")
    error_of(await http.get("/api/projects/nope", headers=auth(tokens[LEAD])), 404, "not_found")
    error_of(await http.post(f"/api/projects/{pid}/tasks/t99/complete", headers=auth(tokens[LEAD]),
                             json={"data": {}}), 404, "not_found")
    error_of(await http.get("/api/no-such-route", headers=auth(tokens[LEAD])), 404, "not_found")
    bad = error_of(await http.post(url, headers=auth(tokens[LEAD]), json={"data": {
        "summary": "", "budget_eur": "-1", "duration_months": 99, "colour": "red"}}), 422, "invalid_data")
    assert bad["details"] == {"summary": "is required", "budget_eur": "must be at least 0",
                              "duration_months": "must be at most 60", "colour": "is not a field of this step"}
    for body, field in [
        ({"template": "cooperation", "title": "x", "partners": ["atlantis"]}, "partners"),
        ({"template": "nope", "title": "x", "partners": ["caritas-rs"]}, "template"),
        ({"template": "cooperation", "title": "x", "partners": ["caritas-rs"], "parameters": {"report_count": 0}},
         "parameters.report_count"),
        ({"template": "cooperation", "partners": ["caritas-rs"]}, "title"),
        ({"template": "cooperation", "title": "x", "partners": []}, "partners"),
    ]:
        err = error_of(await http.post("/api/projects", headers=auth(tokens[LEAD]), json=body), 422,
                       "invalid_request")
        assert field in str(err["details"]) or field in err["message"], err
    error_of(await http.get(f"/api/projects/{pid}", params={"as_of": "yesterday"}, headers=auth(tokens[LEAD])),
             422, "invalid_request")
    assert (await http.post(url, headers=auth(tokens[LEAD]), json={"data": SAMPLE_DATA["concept_note"]})
            ).status_code == 200
    closed = error_of(await http.post(url, headers=auth(tokens[LEAD]), json={"data": SAMPLE_DATA["concept_note"]}),
                      409, "task_closed")
    assert "completed" in closed["message"]


async def test_health_names_the_failing_part(app: Coopflow):
    broken = Coopflow(engine=create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"), client=app.client,
                      task_queue=app.task_queue)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(coopflow=broken, secret="s")),
                                 base_url="http://test") as http:
        response = await http.get("/api/health")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "temporal": "ok", "store": "unavailable"}


async def test_idempotent_retry_returns_the_first_answer(http: httpx.AsyncClient, tokens: dict[str, str]):
    project = await start(http, tokens)
    url = f"/api/projects/{project['id']}/tasks/{project['tasks'][0]['id']}/complete"
    body = {"data": SAMPLE_DATA["concept_note"]}
    first = await http.post(url, headers={**auth(tokens[LEAD]), "Idempotency-Key": "k-123"}, json=body)
    again = await http.post(url, headers={**auth(tokens[LEAD]), "Idempotency-Key": "k-123"}, json=body)
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    error_of(await http.post(url, headers={**auth(tokens[LEAD]), "Idempotency-Key": "k-456"}, json=body),
             409, "task_closed")
    events = (await http.get(f"/api/projects/{project['id']}/events", headers=auth(tokens[LEAD]))).json()
    assert [e["type"] for e in events].count("StepCompleted") == 1


async def test_openapi_and_docs(http: httpx.AsyncClient):
    spec = (await http.get("/api/openapi.json")).json()
    assert "/api/projects/{project_id}/tasks/{task_id}/complete" in spec["paths"]
    assert (await http.get("/api/docs")).status_code == 200


@pytest.mark.parametrize("path", ["/api/templates", "/api/projects", "/api/tasks", "/api/projects/x",
                                  "/api/projects/x/events", "/api/projects/x/verify"])
async def test_every_route_but_health_needs_a_token(http: httpx.AsyncClient, path: str):
    error_of(await http.get(path), 401, "unauthorized")


async def test_short_reads_run_on_the_loop_for_sqlite_and_in_a_thread_for_postgresql(
        app: Coopflow, http: httpx.AsyncClient, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    """A hop to a thread and back costs more than a SQLite read of a few rows (WAL: readers never wait for
    the writer); a PostgreSQL read goes over the network and must not hold up the loop."""
    project = await start(http, tokens)
    loop_thread, seen = threading.get_ident(), []
    for module, name in ((accounts, "user_by_token"), (read, "get_project"), (read, "get_task")):
        original = getattr(module, name)

        def recording(*args, _original=original, _name=name, **kwargs):
            seen.append((_name, threading.get_ident()))
            return _original(*args, **kwargs)
        monkeypatch.setattr(module, name, recording)
    inline = app.engine.dialect.name == "sqlite"
    lead = auth(tokens[LEAD])
    assert (await http.get(f"/api/projects/{project['id']}/tasks", params={"status": "open"},
                           headers=lead)).status_code == 200
    assert (await http.get(f"/api/projects/{project['id']}", headers=lead)).status_code == 200
    refused = await http.post(f"/api/projects/{project['id']}/tasks/t1/complete", headers=lead, json={"data": {}})
    assert refused.status_code == 422
    assert {name for name, _ in seen} == {"user_by_token", "get_project", "get_task"}
    assert all((thread == loop_thread) is inline for _, thread in seen), (loop_thread, seen)
