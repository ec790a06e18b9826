"""Every bad input refused cleanly (never a 500), on SQLite and PostgreSQL; idempotency keys per user."""

from __future__ import annotations

import json

import httpx
import pytest

from services.app import Coopflow
from tests.api.conftest import auth
from tests.api.test_api import LEAD, PARTNERS, start
from tests.utils.scenario import SAMPLE_DATA
from web.app import create_app


def error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()["error"]
    assert body["code"] == code and body["message"], body
    return body


@pytest.mark.parametrize("path", [
    "/api/projects/%00", "/api/projects/a%00b/events", "/api/projects/abc%00/verify",
    "/api/projects/%ED%BF%BF", "/api/projects/" + "a" * 300])
async def test_ids_that_cannot_exist_are_not_found(http: httpx.AsyncClient, tokens: dict[str, str], path: str):
    error(await http.get(path, headers=auth(tokens[LEAD])), 404, "not_found")


async def test_nul_bytes_and_lone_surrogates_are_refused_with_the_field_named(http: httpx.AsyncClient,
                                                                              tokens: dict[str, str]):
    lead = auth(tokens[LEAD])
    body = error(await http.post("/api/projects", headers=lead, json={"title": "x", "partners": ["a\u0000b"]}),
                 422, "invalid_request")
    assert "partners" in str(body["details"])
    body = error(await http.post("/api/projects", headers=lead, json={"title": "a\u0000b", "partners": PARTNERS}),
                 422, "invalid_request")
    assert body["details"] == {"title": "must not contain control characters"}
    project = await start(http, tokens)
    pid = project["id"]
    complete = f"/api/projects/{pid}/tasks/t1/complete"
    error(await http.post(f"/api/projects/{pid}/tasks/%00/complete", headers=lead, json={}), 404, "not_found")
    escaped = {**lead, "Content-Type": "application/json"}  # JSON text with \udfff escapes, as a client may send
    body = error(await http.post(complete, headers=escaped, content=json.dumps({"data": {
        **SAMPLE_DATA["concept_note"], "summary": "a\udfffb"}})), 422, "invalid_data")
    assert body["details"] == {"summary": "must not contain unpaired surrogate characters"}
    body = error(await http.post(complete, headers=escaped, content=json.dumps({
        "data": SAMPLE_DATA["concept_note"], "outcome": "\udfff"})), 422, "invalid_request")
    assert list(body["details"]) == ["outcome"]
    for query in ("actor=a%00b", "org=a%00b", "type=a%00b", "type=Bogus", "since=%00", "until=2027-13-45"):
        error(await http.get(f"/api/projects/{pid}/events?{query}", headers=lead), 422, "invalid_request")
    assert (await http.get(f"/api/projects/{pid}/events?type=StepOpened", headers=lead)).status_code == 200


@pytest.mark.parametrize("title", ["Pilot\nBcc: someone@example.org", "Pilot\rtwo", "Pilot\u2028two", "Pilot\u2029two",
                                   "Pilot\x85two", "Pilot\ttwo", "Pilot\x9btwo", "Pilot\n"])
async def test_a_title_is_one_line_or_refused_with_the_field_named(http: httpx.AsyncClient, tokens: dict[str, str],
                                                                   title: str):
    """A title goes into the subject of every mail about its project: a line break there broke them all."""
    body = error(await http.post("/api/projects", headers=auth(tokens[LEAD]), json={"title": title,
                                                                                   "partners": PARTNERS}),
                 422, "invalid_request")
    assert body["details"] == {"title": "must be one line: no line breaks, separators or control characters"}


async def test_the_actor_filter_answers_alike_whether_or_not_the_e_mail_is_a_user(http: httpx.AsyncClient,
                                                                                  tokens: dict[str, str]):
    """A member filtering the trail by e-mail must not learn from the answer which e-mails have accounts."""
    pid = (await start(http, tokens))["id"]
    partner = auth(tokens[PARTNERS[0]])
    known = await http.get(f"/api/projects/{pid}/events", params={"actor": "wien@demo.coopflow.example"},
                           headers=partner)  # a user of another organisation: no events here
    unknown = await http.get(f"/api/projects/{pid}/events", params={"actor": "nobody-at-all@example.org"},
                             headers=partner)
    assert (unknown.status_code, unknown.json()) == (known.status_code, known.json()) == (200, [])


async def test_numbers_and_durations_are_kept_sane(http: httpx.AsyncClient, tokens: dict[str, str]):
    lead = auth(tokens[LEAD])
    for every in ("P5000Y", "P99999Y", "PT0S", "P9999999999D", "PT1M"):
        body = error(await http.post("/api/projects", headers=lead, json={
            "title": "x", "partners": PARTNERS, "parameters": {"report_every": every}}), 422, "invalid_request")
        assert "parameters.report_every" in body["details"], body
    project = await start(http, tokens)
    complete = f"/api/projects/{project['id']}/tasks/t1/complete"
    body = error(await http.post(complete, headers={**lead, "Content-Type": "application/json"},
                                 content=b'{"data": {"budget_eur": 1e400}}'), 422, "invalid_data")
    assert body["details"]["budget_eur"] == "must be a finite number"
    done = await http.post(complete, headers=lead, json={"data": {**SAMPLE_DATA["concept_note"], "budget_eur": 1e3}})
    assert done.status_code == 200 and done.json()["data"]["budget_eur"] == "1000"


async def test_malformed_bodies_and_methods_get_the_envelope(http: httpx.AsyncClient, tokens: dict[str, str]):
    lead = auth(tokens[LEAD])
    body = error(await http.post("/api/projects", headers={**lead, "Content-Type": "application/json"},
                                 content=b'{"title": "x", "partners": ['), 422, "invalid_request")
    assert list(body["details"]) == ["body"] and "not valid JSON" in body["details"]["body"]
    error(await http.post("/api/projects", headers={**lead, "Content-Type": "text/plain"}, content=b"hello"),
          415, "unsupported_media_type")
    error(await http.post("/api/projects", headers=lead, json={"title": "x", "partners": [""]}), 422,
          "invalid_request")
    not_allowed = await http.delete("/api/projects", headers=lead)
    error(not_allowed, 405, "method_not_allowed")
    assert "GET" in not_allowed.headers["allow"] and "POST" in not_allowed.headers["allow"]


async def test_the_openapi_description_documents_every_answer_and_its_envelope(http: httpx.AsyncClient):
    spec = (await http.get("/api/openapi.json")).json()
    complete = spec["paths"]["/api/projects/{project_id}/tasks/{task_id}/complete"]["post"]["responses"]
    assert {"200", "401", "403", "404", "409", "413", "415", "422", "500", "503"} <= set(complete)
    assert complete["409"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/ErrorEnvelope"
    partners = spec["components"]["schemas"]["ProjectCreate"]["properties"]["partners"]
    assert partners["items"]["pattern"] and partners["minItems"] == 1
    assert "HTTPValidationError" not in spec["components"]["schemas"]


async def test_an_idempotency_key_is_the_users_own_and_stands_for_one_request(
        http: httpx.AsyncClient, tokens: dict[str, str]):
    lead = auth(tokens[LEAD])
    first = await http.post("/api/projects", headers={**lead, "Idempotency-Key": "start-1"}, json={
        "title": "Pilot", "partners": PARTNERS, "parameters": {"report_count": 1}})
    again = await http.post("/api/projects", headers={**lead, "Idempotency-Key": "start-1"}, json={
        "title": "Pilot", "partners": PARTNERS, "parameters": {"report_count": 1}})
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    error(await http.post("/api/projects", headers={**lead, "Idempotency-Key": "start-1"}, json={
        "title": "Another", "partners": PARTNERS}), 409, "idempotency_conflict")

    pid = first.json()["id"]
    url = f"/api/projects/{pid}/tasks/t1/complete"
    data = {"data": SAMPLE_DATA["concept_note"]}
    done = await http.post(url, headers={**lead, "Idempotency-Key": "k"}, json=data)
    assert done.status_code == 200
    assert (await http.post(url, headers={**lead, "Idempotency-Key": "k"}, json=data)).json() == done.json()
    error(await http.post(url, headers={**lead, "Idempotency-Key": "k"}, json={"data": {
        **SAMPLE_DATA["concept_note"], "summary": "changed"}}), 409, "idempotency_conflict")
    # someone else's key is theirs: a partner repeating it is told the task is not theirs
    error(await http.post(url, headers={**auth(tokens[PARTNERS[0]]), "Idempotency-Key": "k"}, json=data),
          403, "not_assigned")
    # a refused request leaves its key free for the corrected one
    error(await http.post(f"/api/projects/{pid}/tasks/t2/complete", headers={
        **auth(tokens[PARTNERS[0]]), "Idempotency-Key": "loi"}, json={"data": {}}), 422, "invalid_data")
    fixed = await http.post(f"/api/projects/{pid}/tasks/t2/complete", headers={
        **auth(tokens[PARTNERS[0]]), "Idempotency-Key": "loi"}, json={"data": SAMPLE_DATA["letter_of_intent"]})
    assert fixed.status_code == 200


async def test_auditing_organisations_are_never_partners(app: Coopflow, http: httpx.AsyncClient,
                                                         tokens: dict[str, str]):
    body = error(await http.post("/api/projects", headers=auth(tokens[LEAD]), json={
        "title": "x", "partners": ["caritas-rs", "audit-office"]}), 422, "invalid_request")
    assert body["details"] == {"partners": ["audit-office"]}


async def test_answers_carry_security_headers(app: Coopflow):
    web = create_app(coopflow=app, secret="s")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://test") as http:
        for path in ("/login", "/api/health"):
            headers = (await http.get(path)).headers
            assert "frame-ancestors 'none'" in headers["content-security-policy"]
            assert "script-src" not in headers["content-security-policy"] or "unsafe-inline" not in headers[
                "content-security-policy"]
            assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "same-origin"


async def test_a_query_parameter_the_route_does_not_take_is_refused(http: httpx.AsyncClient, tokens: dict[str, str]):
    project = await start(http, tokens)
    lead = auth(tokens[LEAD])
    answer = await http.get(f"/api/projects/{project['id']}/events", params={"orgg": "caritas-rs"}, headers=lead)
    assert answer.status_code == 422
    assert answer.json()["error"]["details"] == {"orgg": "is not a parameter of this route"}
    assert (await http.get(f"/api/projects/{project['id']}/events", params={"org": "caritas-rs"},
                           headers=lead)).status_code == 200
    assert (await http.get(f"/api/projects/{project['id']}", params={"as_of": "2099-01-01T00:00:00Z"},
                           headers=lead)).status_code == 200
    assert (await http.get("/api/tasks", params={"x": "1"}, headers=lead)).status_code == 422
