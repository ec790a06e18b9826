"""The audit bundle and the inclusion proof show a return referral's person only to those who may read it:
the lead, the partner the person is referred to and auditors — not to another partner of the case."""

from __future__ import annotations

import io
import json
import zipfile

import httpx
import pytest
from fastapi import FastAPI

from domain import Forbidden
from services.app import Coopflow
from services.seed import demo_email
from tests.utils.app import actor
from tests.web.conftest import http_login

LEAD, CARITAS, HORIZON, DIFFERENT = "stadt-dortmund", "caritas-rs", "horizon-civitas-mk", "different-and-equal-al"
NAME, NEEDS = "Љиљана Петровић", "Strehim dhe punë për Dritën"


async def referred_case(app: Coopflow) -> str:
    """A return referral whose person is referred to Horizon; Caritas and Different are uninvolved."""
    lead = actor(app, LEAD)
    pid = (await app.start_project(lead, title="Return", partners=[CARITAS, HORIZON, DIFFERENT],
                                   template="return-referral"))["id"]
    await app.complete_task(lead, pid, "t1", data={"person_name": NAME, "date_of_birth": "1991-04-02",
                                                   "consent": True, "consent_on": "2026-01-04"})
    await app.complete_task(lead, pid, "t2", data={"partner": HORIZON, "needs": NEEDS})
    return pid


async def bundle_as(web: FastAPI, org: str, pid: str) -> dict[str, bytes]:
    """The bundle as the audit page's link gives it to a person of ``org``, in their own browser."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://test") as http:
        await http_login(http, demo_email(org))
        got = await http.get(f"/projects/{pid}/audit/export", params={"format": "bundle"})
        assert got.status_code == 200, got.text
    with zipfile.ZipFile(io.BytesIO(got.content)) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist()}


@pytest.mark.parametrize("org", [CARITAS, DIFFERENT])
async def test_an_uninvolved_partner_downloads_the_bundle_without_the_person(app: Coopflow, web: FastAPI,
                                                                            org: str):
    pid = await referred_case(app)
    files = await bundle_as(web, org, pid)
    raw = b"".join(files.values())
    for value in (NAME, NEEDS, "1991-04-02"):
        assert value.encode() not in raw, f"{value!r} is in {org}'s bundle"
    consent = next(json.loads(line) for line in files["events.jsonl"].splitlines()
                   if json.loads(line)["task_id"] == "t1" and json.loads(line)["type"] == "StepCompleted")
    assert consent["redacted"] == ["date_of_birth", "person_name"], "it says what was left out"
    assert consent["data"]["form"]["consent"] is True, "the rest of the event is there"


async def test_the_referred_partner_and_the_lead_get_the_whole_bundle(app: Coopflow, web: FastAPI):
    pid = await referred_case(app)
    for org in (HORIZON, LEAD):
        events = (await bundle_as(web, org, pid))["events.jsonl"].decode()
        assert NEEDS in events or "sealed:" in events, org  # in clear (older cases) or sealed, but whole
        assert "redacted" not in events, org


async def test_an_uninvolved_partner_gets_no_proof_of_an_event_with_the_person(app: Coopflow):
    pid = await referred_case(app)
    consent = next(e for e in app.list_events(actor(app, LEAD), pid) if e["task_id"] == "t1"
                   and e["type"] == "StepCompleted")
    app.checkpoint(actor(app, LEAD), pid)  # partners prove under a kept checkpoint
    with pytest.raises(Forbidden, match="personal data"):
        app.prove(actor(app, CARITAS), pid, consent["seq"])
    assert app.prove(actor(app, HORIZON), pid, consent["seq"])["event"] == consent
    assert app.prove(actor(app, CARITAS), pid, 1)["event"]["seq"] == 1, "other events are proven as before"
