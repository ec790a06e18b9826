"""Readiness, metrics, the Temporal UI's codec endpoint and offline API docs, over HTTP."""

from __future__ import annotations

import base64
import json
import re

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from services.app import Coopflow
from services.codec import EncryptionCodec, new_key, parse_keys
from settings import get_settings
from tests.api.conftest import auth
from tests.utils.app import LEAD, PARTNERS, start
from web.app import create_app

UI = "http://localhost:8080"


async def test_ready_names_each_part(http: httpx.AsyncClient):
    answer = await http.get("/api/ready")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "temporal": "ok", "store": "ok", "migrations": "ok"}


async def test_api_docs_need_nothing_from_the_internet(http: httpx.AsyncClient):
    page = (await http.get("/api/docs")).text
    assert not re.search(r"(src|href)=['\"]https?://", page), "the docs page loads something from elsewhere"
    for asset in re.findall(r"/api/docs/assets/[\w.-]+", page):
        got = await http.get(asset)
        assert got.status_code == 200 and len(got.content) > 1000, asset
    assert "SwaggerUIBundle" in (await http.get("/api/docs/assets/swagger-ui-bundle.js")).text


async def test_metrics_count_completions_refusals_and_what_is_open(app: Coopflow, http: httpx.AsyncClient,
                                                                   tokens: dict[str, str]):
    project = await start(app)
    pid = project["id"]
    refused = await http.post(f"/api/projects/{pid}/tasks/t1/complete", headers=auth(tokens[PARTNERS[0]]),
                              json={"data": {}})
    assert refused.status_code == 403
    done = await http.post(f"/api/projects/{pid}/tasks/t1/complete", headers=auth(tokens[LEAD]), json={
        "data": {"summary": "Pilot", "budget_eur": "1000", "duration_months": 12}})
    assert done.status_code == 200
    text = (await http.get("/metrics")).text
    assert re.search(r'coopflow_completions_total\{step="concept_note"\} [1-9]', text)
    assert re.search(r'coopflow_refusals_total\{code="not_assigned",step="concept_note"\} [1-9]', text)
    for partner in PARTNERS:
        assert re.search(rf'coopflow_tasks_open\{{org="{partner}"\}} [1-9]', text), partner
    assert "coopflow_incidents_open" in text and "coopflow_outbox" in text


async def test_metrics_from_another_machine_need_the_token(app: Coopflow):
    settings = get_settings(metrics_token="scrape-me")
    web = create_app(coopflow=app, secret="s", settings=settings)
    far = httpx.ASGITransport(app=web, client=("203.0.113.9", 4000))
    async with httpx.AsyncClient(transport=far, base_url="http://test") as http:
        assert (await http.get("/metrics")).status_code == 401
        assert (await http.get("/metrics", headers=auth("wrong"))).status_code == 401
        assert (await http.get("/metrics", headers=auth("scrape-me"))).status_code == 200
    near = httpx.ASGITransport(app=web, client=("127.0.0.1", 4000))
    async with httpx.AsyncClient(transport=near, base_url="http://test") as http:
        assert (await http.get("/metrics")).status_code == 200
        relayed = await http.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert relayed.status_code == 401, "a proxy on this machine relays others: they need the token"


KEYS = new_key("k1")


@pytest.fixture
async def codec_http(app: Coopflow):
    settings = get_settings(codec_keys=KEYS, codec_origins=UI)
    web = create_app(coopflow=app, secret="s", settings=settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://test") as http:
        yield http


def payloads(text: str) -> str:
    return json.dumps({"payloads": [{"metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
                                     "data": base64.b64encode(json.dumps(text).encode()).decode()}]})


async def test_the_codec_endpoint_opens_payloads_for_staff_only(codec_http: httpx.AsyncClient,
                                                               tokens: dict[str, str]):
    """A payload tied to no project (sealed by no workflow) opens for auditors only; partners may not ask;
    nobody may have the endpoint seal anything (tests/deploy/test_codec.py: a project's payloads)."""
    http = codec_http
    body = payloads("Ljiljana Petrović")
    (sealed_payload,) = await EncryptionCodec(parse_keys(KEYS)).encode(
        json_format.Parse(body, Payloads()).payloads)
    sealed = json_format.MessageToJson(Payloads(payloads=[sealed_payload]))
    assert "Petrovi" not in sealed
    headers = {**auth(tokens["audit-office"]), "Content-Type": "application/json", "X-Namespace": "default",
               "Origin": UI}
    opened = await http.post("/codec/decode", content=sealed, headers=headers)
    assert opened.json() == json.loads(body)
    assert opened.headers["access-control-allow-origin"] == UI
    assert (await http.post("/codec/decode", content=body, headers=headers)).json() == json.loads(body), \
        "a payload in clear comes back as it is"
    withheld = await http.post("/codec/decode", content=sealed, headers={**headers, **auth(tokens[LEAD])})
    assert withheld.status_code == 200 and "Petrovi" not in withheld.text and "not-yours" in json.dumps(
        {k: base64.b64decode(v).decode() for k, v in withheld.json()["payloads"][0]["metadata"].items()})
    assert (await http.post("/codec/encode", content=body, headers=headers)).status_code == 403
    assert (await http.post("/codec/decode", content=sealed,
                            headers={**headers, **auth(tokens[PARTNERS[0]])})).status_code == 403
    assert (await http.post("/codec/decode", content=sealed,
                            headers={"Content-Type": "application/json"})).status_code == 401
    bad = await http.post("/codec/decode", content=b"{nonsense", headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["details"]["body"]
    preflight = await http.options("/codec/decode", headers={"Origin": UI, "Access-Control-Request-Method": "POST"})
    assert preflight.headers["access-control-allow-credentials"] == "true"
    elsewhere = await http.options("/codec/decode", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in elsewhere.headers


async def test_without_keys_the_codec_endpoint_says_encryption_is_off(http: httpx.AsyncClient,
                                                                      tokens: dict[str, str]):
    answer = await http.post("/codec/decode", content=payloads("x"), headers=auth(tokens["audit-office"]))
    assert answer.status_code == 404 and "COOPFLOW_CODEC_KEYS" in answer.json()["error"]["message"]
