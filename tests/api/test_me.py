"""A person's own settings over HTTP: mail preferences (each bad field named, nothing changed) and the calendar
feed (made, fetched without log-in and parsed with the `icalendar` package, renewed, revoked)."""

from __future__ import annotations

import hashlib
import uuid
from urllib.parse import urlsplit

import httpx
import structlog
from fastapi import FastAPI
from icalendar import Calendar
from sqlalchemy import text

from domain import parse_time
from services.app import Coopflow
from services.seed import demo_email
from store import accounts
from tests.api.conftest import auth
from tests.utils.app import actor
from tests.utils.scenario import SAMPLE_DATA

LEAD = "stadt-dortmund"


def new_org(app: Coopflow, lang: str = "sr") -> tuple[str, str, str]:
    """A partner organisation of this test's own with one user: its id, the user's e-mail and API token."""
    org = f"org-{uuid.uuid4().hex[:8]}"
    accounts.add_org(app.engine, org_id=org, name=f"Partner {org[-4:]}", country="RS")
    email = f"officer@{org}.example"
    _, token = accounts.add_user(app.engine, email=email, org_id=org, role="partner", lang=lang)
    return org, email, token


async def letters(app: Coopflow, partners: list[str]) -> tuple[str, dict[str, dict]]:
    """A project with those partners, its concept note done: each partner's letter of intent open."""
    lead = actor(app, LEAD)
    project = await app.start_project(lead, title=f"Kalender {uuid.uuid4().hex[:4]}", partners=partners,
                                      parameters={"report_count": 1})
    await app.complete_task(lead, project["id"], "t1", data=SAMPLE_DATA["concept_note"])
    tasks = app.show_project(lead, project["id"])["tasks"]
    return project["id"], {t["assignee"]: t for t in tasks if t["step"] == "letter_of_intent"}


async def test_preferences_are_read_and_changed_and_each_bad_field_is_named(app: Coopflow, http: httpx.AsyncClient):
    _, _, token = new_org(app)
    assert (await http.get("/api/me/preferences", headers=auth(token))).json() == {
        "mail": "immediate", "lang": "sr", "timezone": "UTC"}

    bad = await http.put("/api/me/preferences", headers=auth(token),
                         json={"mail": "weekly", "lang": "fr", "timezone": "Mars/Olympus_Mons"})
    assert bad.status_code == 422
    assert set(bad.json()["error"]["details"]) == {"mail", "lang", "timezone"}
    one = await http.put("/api/me/preferences", headers=auth(token),
                         json={"mail": "daily", "timezone": "../../etc/passwd"})
    assert one.status_code == 422 and set(one.json()["error"]["details"]) == {"timezone"}
    assert (await http.get("/api/me/preferences", headers=auth(token))).json()["mail"] == "immediate"  # unchanged

    unknown = await http.put("/api/me/preferences", headers=auth(token), json={"mail": "daily", "digest_at": "08:00"})
    assert unknown.status_code == 422 and "digest_at" in unknown.json()["error"]["details"]
    wrong_type = await http.put("/api/me/preferences", headers=auth(token), json={"lang": ["de"]})
    assert wrong_type.status_code == 422 and "lang" in wrong_type.json()["error"]["details"]

    done = await http.put("/api/me/preferences", headers=auth(token),
                          json={"mail": "daily", "timezone": "Europe/Belgrade"})
    assert done.status_code == 200 and done.json() == {"mail": "daily", "lang": "sr", "timezone": "Europe/Belgrade"}
    assert (await http.put("/api/me/preferences", headers=auth(token), json={"lang": "de"})).json() == {
        "mail": "daily", "lang": "de", "timezone": "Europe/Belgrade"}  # one source: the user's language
    assert (await http.get("/api/me/preferences")).status_code == 401


async def test_a_calendar_feed_lists_my_open_tasks_with_stable_uids_and_is_renewed_and_revoked(
        app: Coopflow, http: httpx.AsyncClient, web: FastAPI):
    mine, email, token = new_org(app, lang="sr")
    other, other_email, other_token = new_org(app, lang="de")
    first, letters_first = await letters(app, [mine, other])
    second, letters_second = await letters(app, [mine])
    public = web.state.settings.public_url

    made = await http.post("/api/me/calendar", headers=auth(token))
    assert made.status_code == 201
    url = made.json()["url"]
    assert url.startswith(f"{public}/calendar/") and url.endswith(".ics")
    path = urlsplit(url).path
    assert (await http.get("/api/me/calendar", headers=auth(token))).json()["active"] is True

    fetched = await http.get(path)  # no log-in
    assert fetched.status_code == 200
    assert fetched.headers["content-type"] == "text/calendar; charset=utf-8"
    assert b"\r\n" in fetched.content
    calendar = Calendar.from_ical(fetched.content)
    events = {str(e["uid"]): e for e in calendar.walk("VEVENT")}
    host = urlsplit(public).hostname
    expected = {f"{pid}-{task['id']}@{host}": (pid, task) for pid, task in
                ((first, letters_first[mine]), (second, letters_second[mine]))}
    assert set(events) == set(expected)
    title = app.template_of(app.show_project(actor(app, LEAD), first)).step("letter_of_intent").title["sr"]
    for uid, (pid, task) in expected.items():
        event = events[uid]
        project_title = app.show_project(actor(app, LEAD), pid)["title"]
        assert str(event["summary"]) == f"{title} — {project_title}"  # in the person's language
        assert event.decoded("dtstart") == parse_time(task["due_at"]).replace(microsecond=0)
        assert str(event["url"]) == f"{public}/projects/{pid}/tasks/{task['id']}"
        assert str(event["url"]) in str(event["description"])
        assert event.get("dtstamp") is not None and event.decoded("dtend") > event.decoded("dtstart")

    # nothing of anyone else: the other partner's task, e-mails, names of people
    assert f"{first}-{letters_first[other]['id']}@" not in fetched.text
    for address in (email, other_email, demo_email(LEAD)):
        assert address not in fetched.text
    again = Calendar.from_ical((await http.get(path)).content)
    assert {str(e["uid"]) for e in again.walk("VEVENT")} == set(events)  # stable across fetches

    # only the secret's SHA-256 is stored
    secret = path.removeprefix("/calendar/").removesuffix(".ics")
    with app.engine.connect() as conn:
        rows = conn.execute(text("SELECT user_id, secret_hash FROM calendar_feed")).all()
    assert hashlib.sha256(secret.encode()).hexdigest() in {r.secret_hash for r in rows}
    assert secret not in repr(rows)

    # the other partner's own feed has its task, none of mine
    theirs = (await http.post("/api/me/calendar", headers=auth(other_token))).json()["url"]
    their_uids = {str(e["uid"]) for e in Calendar.from_ical(
        (await http.get(urlsplit(theirs).path)).content).walk("VEVENT")}
    assert their_uids == {f"{first}-{letters_first[other]['id']}@{host}"}

    renewed = (await http.post("/api/me/calendar", headers=auth(token))).json()["url"]
    assert renewed != url
    assert (await http.get(path)).status_code == 404  # the old URL
    after = Calendar.from_ical((await http.get(urlsplit(renewed).path)).content)
    assert {str(e["uid"]) for e in after.walk("VEVENT")} == set(events)  # the same UIDs after a renewal

    assert (await http.delete("/api/me/calendar", headers=auth(token))).status_code == 204
    assert (await http.get(urlsplit(renewed).path)).status_code == 404
    assert (await http.get("/api/me/calendar", headers=auth(token))).json() == {"active": False, "created_at": None}
    assert (await http.get("/calendar/" + "A" * 43 + ".ics")).status_code == 404
    assert (await http.get("/calendar/not-a-secret.ics")).status_code == 404
    assert (await http.get(urlsplit(theirs).path)).status_code == 200  # theirs still works


async def test_a_feed_that_fails_logs_no_secret(app: Coopflow, http: httpx.AsyncClient, web: FastAPI, monkeypatch):
    _, _, token = new_org(app)
    path = urlsplit((await http.post("/api/me/calendar", headers=auth(token))).json()["url"]).path
    secret = path.removeprefix("/calendar/").removesuffix(".ics")

    def broken(*args, **kwargs):
        raise RuntimeError("the feed broke")

    monkeypatch.setattr(app, "calendar_feed", broken)
    answering = httpx.AsyncClient(transport=httpx.ASGITransport(app=web, raise_app_exceptions=False),
                                  base_url="http://test")
    with structlog.testing.capture_logs() as logs:
        failed = await answering.get(path)
    await answering.aclose()
    assert failed.status_code == 500
    assert [e["path"] for e in logs if e["event"] == "unexpected error"] == ["/calendar/<secret>.ics"]
    assert secret not in repr(logs)
