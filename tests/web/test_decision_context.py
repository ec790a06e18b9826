"""A decision shows what it decides on: a request for more time with the partner's reason, the current due
date and the task; the referred partner's acceptance with the person it is about."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.async_api import expect

from services.seed import demo_email
from store.outbox import list_mail
from tests.utils.app import LEAD, PARTNERS, actor, play, start
from tests.web.conftest import Live, Profiles, http_login
from tests.web.test_browser import login
from tests.web.test_step_feedback import SHOTS, open_task, set_language

REASON = "Our accountant is on sick leave until the end of the month"


async def more_time_asked(live: Live) -> tuple[str, dict, dict]:
    """Caritas asks for more time for its letter of intent: the project, that task, the lead's decision."""
    project = await start(live.coopflow)
    pid = project["id"]
    await play(live.coopflow, pid, loops=False, until_step="letter_of_intent")
    letter = open_task(live, pid, "letter_of_intent", PARTNERS[0])
    until = (datetime.now(UTC) + timedelta(days=40)).strftime("%Y-%m-%dT23:59:59Z")
    await live.coopflow.request_extension(actor(live.coopflow, PARTNERS[0]), pid, letter["id"], due_at=until,
                                          reason=REASON, request_id=None, via=None)
    return pid, letter, open_task(live, pid, "extension_decision")


@pytest.mark.parametrize(("lang", "step"), [("en", "Letter of intent"), ("mk", "Писмо за намера")])
async def test_the_decision_on_more_time_shows_the_reason_the_due_date_and_the_task(live: Live, lang: str,
                                                                                    step: str):
    pid, letter, decision = await more_time_asked(live)
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, demo_email(LEAD))
        page = (await http.get(f"/projects/{pid}/tasks/{decision['id']}", params={"lang": lang})).text
    context = page[page.index('id="context"'):]
    assert REASON in context
    assert letter["due_at"][:10] in context and step in context
    assert f'href="/projects/{pid}/tasks/{letter["id"]}"' in context  # what the task is: one click away


async def test_the_mail_asking_for_a_decision_gives_the_reason(live: Live):
    set_language(live, LEAD, "sr")
    pid, letter, decision = await more_time_asked(live)
    mail = [m for m in list_mail(live.coopflow.engine, project_id=pid)
            if f"/tasks/{decision['id']}" in m["body"] and m["lang"] == "sr"]
    assert mail and REASON in mail[0]["body"], [m["body"] for m in mail]
    assert "Pismo o namerama" in mail[0]["body"] and letter["due_at"][:10] in mail[0]["body"], mail[0]["body"]


async def test_the_referred_partner_sees_whom_it_is_asked_to_accept(live: Live):
    project = await start(live.coopflow, template="return-referral", partners=PARTNERS[:2], parameters={})
    pid, lead = project["id"], actor(live.coopflow, LEAD)
    await live.coopflow.complete_task(lead, pid, open_task(live, pid, "record_consent")["id"], data={
        "person_name": "Ana Petrović", "date_of_birth": "1990-05-17", "consent": True, "consent_on": "2026-01-10"})
    await live.coopflow.complete_task(lead, pid, open_task(live, pid, "refer")["id"],
                                      data={"partner": PARTNERS[0], "needs": "Housing"})
    accept = open_task(live, pid, "accept_referral")
    for org, lang, shown in ((PARTNERS[0], "sr", True), (PARTNERS[1], "en", False)):
        async with httpx.AsyncClient(base_url=live.url) as http:
            await http_login(http, demo_email(org))
            page = (await http.get(f"/projects/{pid}/tasks/{accept['id']}", params={"lang": lang})).text
        assert ("Ana Petrović" in page and "1990-05-17" in page) is shown, org


async def test_screenshot_of_a_decision_on_more_time_in_macedonian(browser: Profiles, live: Live):
    pid, _, decision = await more_time_asked(live)
    page = await login(browser, live, LEAD)
    await page.goto(f"{live.url}/projects/{pid}/tasks/{decision['id']}?lang=mk")
    await expect(page.locator("#context")).to_contain_text(REASON)
    SHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SHOTS / "2-extension-decision-mk.png"), full_page=True)
