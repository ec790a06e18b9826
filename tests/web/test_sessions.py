"""Browser sessions: signed HttpOnly cookies, CSRF on every form, log-in attempts slowed down."""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any

import httpx
import pytest

from services.seed import DEMO_PASSWORD, demo_email
from store import accounts
from tests.web.conftest import Live, http_login

LEAD = demo_email("stadt-dortmund")


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


async def test_session_cookie_is_signed_httponly_and_lax(live: Live):
    async with httpx.AsyncClient(base_url=live.url) as http:
        assert (await http.get("/inbox")).headers["location"].startswith("/login?next=/inbox")
        page = await http.get("/login")
        done = await http.post("/login", data={"email": LEAD, "password": DEMO_PASSWORD,
                                               "csrf": csrf_of(page.text), "next": "/projects"})
        assert done.status_code == 303 and done.headers["location"] == "/projects"
        cookie = next(h for k, h in done.headers.multi_items() if k == "set-cookie" and "coopflow_session" in h)
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert (await http.get("/inbox")).status_code == 200
        forged = http.cookies.get("coopflow_session")[:-4] + "AAAA"  # type: ignore[index]
        http.cookies.set("coopflow_session", forged)
        assert (await http.get("/inbox")).status_code == 303  # a tampered cookie is no session


async def test_forms_without_the_csrf_token_are_refused(live: Live):
    async with httpx.AsyncClient(base_url=live.url) as http:
        refused = await http.post("/login", data={"email": LEAD, "password": DEMO_PASSWORD, "csrf": "guess"})
        assert refused.status_code == 403
        await http_login(http, LEAD)
        assert (await http.post("/projects/new", data={"title": "x", "partners": "caritas-rs"})).status_code == 403
        assert (await http.post("/logout", data={"csrf": "guess"})).status_code == 403
        assert (await http.get("/inbox")).status_code == 200  # still signed in
        token = csrf_of((await http.get("/inbox")).text)
        assert (await http.post("/logout", data={"csrf": token})).status_code == 303
        assert (await http.get("/inbox")).status_code == 303


async def test_log_in_attempts_are_slowed_down(live: Live, monkeypatch: pytest.MonkeyPatch):
    # the throttle's clock stands still: on a loaded machine the one-second wait would pass between requests
    import time
    from types import SimpleNamespace

    import services.identity
    frozen = time.time()
    monkeypatch.setattr(services.identity, "time", SimpleNamespace(time=lambda: frozen))
    email = demo_email("horizon-civitas-mk")
    async with httpx.AsyncClient(base_url=live.url) as http:
        for _ in range(3):
            page = await http.get("/login")
            wrong = await http.post("/login", data={"email": email, "password": "nope", "csrf": csrf_of(page.text)})
            assert wrong.status_code == 401 and "not right" in wrong.text
        page = await http.get("/login")
        wrong = await http.post("/login", data={"email": email, "password": "nope", "csrf": csrf_of(page.text)})
        assert wrong.status_code == 401
        page = await http.get("/login?lang=de")
        blocked = await http.post("/login", data={"email": email, "password": DEMO_PASSWORD,
                                                  "csrf": csrf_of(page.text)})
        assert blocked.status_code == 429 and "Bitte versuchen Sie es in 1 Sekunde erneut" in blocked.text
        assert blocked.headers["retry-after"] == "1"


async def test_next_never_leaves_the_site(live: Live):
    async with httpx.AsyncClient(base_url=live.url) as http:
        page = await http.get("/login")
        done = await http.post("/login", data={"email": LEAD, "password": DEMO_PASSWORD, "csrf": csrf_of(page.text),
                                               "next": "https://evil.example/"})
        assert done.headers["location"] == "/inbox"


async def test_the_task_page_says_why_a_task_cannot_be_completed(live: Live):
    from tests.utils.app import actor, start

    project = await start(live.coopflow)
    concept = project["tasks"][0]["id"]
    url = f"/projects/{project['id']}/tasks/{concept}"
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, demo_email("caritas-rs"))
        refused = await http.post(url, data={"csrf": csrf_of((await http.get(url)).text), "summary": "s",
                                             "budget_eur": "1", "duration_months": "1"})
        assert refused.status_code == 403 and "assigned to another organisation" in refused.text
    await live.coopflow.complete_task(actor(live.coopflow, "stadt-dortmund"), project["id"], concept,
                                      data={"summary": "s", "budget_eur": "1", "duration_months": 1})
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, LEAD)
        page = await http.get(url, params={"lang": "de"})
        assert "Diese Aufgabe ist nicht mehr offen." in page.text
        assert '<form method="post" class="card"' not in page.text


async def test_pages_work_for_a_project_whose_template_is_not_installed_here(live: Live):
    """A project pins its template in its first event: pages fall back to that copy."""
    import uuid

    import yaml

    from domain import summary_view, task_view
    from store import record_batch
    from templates import load_template_text
    from tests.utils.domain import Project

    title = {"en": "Host the partners' meeting", "de": "Partnertreffen ausrichten", "sr": "Domaćinstvo sastanka",
             "mk": "Домаќин на средбата", "sq": "Pritja e takimit"}  # all five: other pages' checks see it too
    template = load_template_text(yaml.safe_dump({"id": "retired", "version": 7, "phases": [{
        "key": "only", "title": title, "steps": [{
            "key": "host_meeting", "title": title, "assignee": "each_partner", "kind": "submission"}]}]}))
    p = Project(template=template, partners=["caritas-rs"])
    p.state = p.state.model_copy(update={"id": f"retired-{uuid.uuid4().hex[:8]}"})
    record_batch(live.coopflow.engine, project=summary_view(p.state), events=p.events,
                 tasks=[task_view(p.state, t) for t in p.state.tasks.values()])
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, demo_email("caritas-rs"))
        inbox = await http.get("/inbox")
        assert inbox.status_code == 200 and "Host the partners&#39; meeting" in inbox.text
        assert (await http.get(f"/projects/{p.state.id}/tasks/t1")).status_code == 200
        assert (await http.get(f"/projects/{p.state.id}")).status_code == 200


async def test_log_out_ends_the_session_on_the_server_for_every_copy_of_its_cookie(live: Live):
    async with httpx.AsyncClient(base_url=live.url) as first, httpx.AsyncClient(base_url=live.url) as copy:
        await http_login(first, LEAD)
        copy.cookies.set("coopflow_session", first.cookies.get("coopflow_session"))  # type: ignore[arg-type]
        assert (await copy.get("/inbox")).status_code == 200
        await first.post("/logout", data={"csrf": csrf_of((await first.get("/inbox")).text)})
        assert (await copy.get("/inbox")).status_code == 303  # the copy is no session any more


async def test_log_out_everywhere_and_a_new_password_end_every_session(live: Live):
    email = demo_email("different-and-equal-al")
    async with httpx.AsyncClient(base_url=live.url) as office, httpx.AsyncClient(base_url=live.url) as laptop:
        await http_login(office, email)
        await http_login(laptop, email)
        page = await office.get("/inbox")
        assert 'id="log-out-everywhere"' in page.text
        await office.post("/logout", data={"csrf": csrf_of(page.text), "everywhere": "1"})
        assert (await laptop.get("/inbox")).status_code == 303 and (await office.get("/inbox")).status_code == 303
        await http_login(laptop, email)
        assert live.coopflow.set_password(email, DEMO_PASSWORD) == 1
        assert (await laptop.get("/inbox")).status_code == 303


def test_a_session_ends_after_two_idle_hours_and_after_twelve_at_most(sqlite_engine):
    from store import web_state

    user = accounts_user(sqlite_engine, LEAD)
    token, _ = web_state.create_session(sqlite_engine, user_id=user, now=1000.0)
    assert web_state.read_session(sqlite_engine, token, now=1000.0 + 3600) is not None
    assert web_state.read_session(sqlite_engine, token, now=1000.0 + 3600 + 2 * 3600 + 1) is None  # idle
    token, _ = web_state.create_session(sqlite_engine, user_id=user, now=1000.0)
    for hour in range(1, 12):
        assert web_state.read_session(sqlite_engine, token, now=1000.0 + hour * 3600) is not None
    assert web_state.read_session(sqlite_engine, token, now=1000.0 + 12 * 3600 + 1) is None  # at most 12 h


def accounts_user(engine, email: str) -> str:
    from store import accounts

    return accounts.user_by_email(engine, email).id


def test_the_log_in_throttle_slows_the_guesser_not_the_owner_and_stays_small(live: Live):
    from sqlalchemy import text

    from services.identity import TooManyAttempts, Unauthorized

    app, email = live.coopflow, demo_email("caritas-rs")
    for _ in range(4):  # three free, the fourth makes the next one wait
        with pytest.raises(Unauthorized):
            app.log_in(email, "guess", "203.0.113.7")
    with pytest.raises(TooManyAttempts):
        app.log_in(email, DEMO_PASSWORD, "203.0.113.7")  # the guesser's address waits
    assert app.log_in(email, DEMO_PASSWORD, "198.51.100.1")  # the owner, elsewhere, does not
    # a thousand e-mails tried from one address leave a bounded trace: the address is slowed first
    refused = 0
    for n in range(1000):
        try:
            app.log_in(f"nobody{n}@example.org", "guess", "192.0.2.9")
        except TooManyAttempts:
            refused += 1
        except Unauthorized:
            pass
    with app.engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM login_throttle WHERE key LIKE '%192.0.2.9%'")).scalar_one()
    assert refused > 900 and rows < 80


def test_cookies_are_secure_when_the_public_url_is_https(tmp_path):
    from settings import get_settings

    assert get_settings(public_url="https://coopflow.example.org").cookies_secure is True
    assert get_settings(public_url="http://127.0.0.1:8000").cookies_secure is False
    assert get_settings(public_url="https://x.example", secure_cookies=False).cookies_secure is False


async def test_the_password_hash_runs_off_the_event_loop(live: Live, monkeypatch: pytest.MonkeyPatch):
    """argon2 takes tens of milliseconds by design: while one person's log-in is being checked, the
    server goes on answering everyone else. Here the check is held until another page has been
    served; were it run on the event loop, nothing else could be served until it gave up."""
    entered, finished = threading.Event(), threading.Event()
    release = threading.Event()
    real = accounts._HASHER

    class Held:
        def verify(self, stored: str, password: str) -> bool:
            entered.set()
            release.wait(30)  # bounded: on the event loop this would stall the server for that long
            finished.set()
            return real.verify(stored, password)

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    monkeypatch.setattr(accounts, "_HASHER", Held())
    async with httpx.AsyncClient(base_url=live.url) as person, httpx.AsyncClient(base_url=live.url) as other:
        page = await person.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        logging_in = asyncio.create_task(person.post("/login", data={
            "email": LEAD, "password": DEMO_PASSWORD, "csrf": csrf, "next": "/inbox"}))
        assert await asyncio.to_thread(entered.wait, 30), "the log-in never reached the password check"
        served = await other.get("/login")  # someone else, while the hash is being checked
        assert served.status_code == 200
        assert not finished.is_set(), "the other page waited for the password check: it ran on the event loop"
        release.set()
        assert (await logging_in).status_code == 303
