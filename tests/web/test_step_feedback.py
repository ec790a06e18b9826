"""What a step says to the next person: a reviewer's comment reaches whoever redoes the step, on the
page of the reopened step and in the mail that reopens it — in the reader's language."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import expect
from sqlalchemy import text

from services.seed import demo_email
from store.outbox import list_mail
from tests.utils.app import LEAD, PARTNERS, actor, play, start
from tests.web.conftest import Live, Profiles, http_login
from tests.web.test_browser import login

SHOTS = Path(__file__).resolve().parents[2] / "shots"
COMMENT = "Clause 4 (data protection) names no contact person"


def set_language(live: Live, org: str, lang: str) -> None:
    """Every user of ``org`` reads coopflow (pages and mail) in ``lang`` (until the test ends: the web tests'
    ``languages_restored``)."""
    with live.coopflow.engine.begin() as conn:
        conn.execute(text("UPDATE user SET lang = :lang WHERE org_id = :org"), {"lang": lang, "org": org})


def open_task(live: Live, project_id: str, step: str, org: str | None = None) -> dict[str, Any]:
    tasks = live.coopflow.show_project(actor(live.coopflow, LEAD), project_id)["tasks"]
    return next(t for t in tasks if t["step"] == step and t["status"] == "open" and org in (None, t["assignee"]))


async def changes_requested(live: Live) -> tuple[str, dict[str, Any]]:
    """A cooperation project whose draft agreement Horizon sent back with a comment: its round-2 draft."""
    project = await start(live.coopflow)
    await play(live.coopflow, project["id"], loops=False, until_step="review_agreement")
    review = open_task(live, project["id"], "review_agreement", PARTNERS[1])
    await live.coopflow.complete_task(actor(live.coopflow, PARTNERS[1]), project["id"], review["id"],
                                      data={"comment": COMMENT}, outcome="request_changes")
    return project["id"], open_task(live, project["id"], "draft_agreement")


@pytest.mark.parametrize(("lang", "said"), [("en", "Request changes"), ("sr", "Zatraži izmene"),
                                             ("mk", "Побарај измени")])
async def test_the_reopened_draft_shows_the_reviewers_comment_with_who_and_when(live: Live, lang: str, said: str):
    pid, draft = await changes_requested(live)
    assert draft["round"] == 2
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, demo_email(LEAD))
        page = (await http.get(f"/projects/{pid}/tasks/{draft['id']}", params={"lang": lang})).text
    earlier = page[page.index('id="earlier-rounds"'):]
    assert COMMENT in earlier and said in earlier
    assert "Horizon" in earlier  # who asked for the changes
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", earlier)  # and when


async def test_the_mail_that_reopens_a_step_quotes_the_comment(live: Live):
    set_language(live, LEAD, "sr")
    pid, draft = await changes_requested(live)
    mail = [m for m in list_mail(live.coopflow.engine, project_id=pid) if m["lang"] == "sr"
            and m["kind"] == "task_opened" and f"/tasks/{draft['id']}" in m["body"]]
    assert mail, "the lead's coordinators are told the draft is open again"
    assert COMMENT in mail[0]["body"] and "Zatraži izmene" in mail[0]["body"], mail[0]["body"]


async def test_a_declined_referral_comment_reaches_the_lead(live: Live):
    project = await start(live.coopflow, template="return-referral", partners=PARTNERS[:2], parameters={})
    pid = project["id"]
    lead = actor(live.coopflow, LEAD)
    consent = open_task(live, pid, "record_consent")
    await live.coopflow.complete_task(lead, pid, consent["id"], data={
        "person_name": "Ana Petrović", "consent": True, "consent_on": "2026-01-10"})
    refer = open_task(live, pid, "refer")
    await live.coopflow.complete_task(lead, pid, refer["id"], data={"partner": PARTNERS[0], "needs": "Housing"})
    accept = open_task(live, pid, "accept_referral")
    await live.coopflow.complete_task(actor(live.coopflow, PARTNERS[0]), pid, accept["id"],
                                      data={"comment": "No shelter places in Niš until March"}, outcome="decline")
    again = open_task(live, pid, "refer")
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, demo_email(LEAD))
        page = (await http.get(f"/projects/{pid}/tasks/{again['id']}", params={"lang": "de"})).text
    earlier = page[page.index('id="earlier-rounds"'):]
    assert "No shelter places in Niš until March" in earlier and "Ablehnen" in earlier


async def test_screenshot_of_a_reopened_step_in_serbian(browser: Profiles, live: Live):
    pid, draft = await changes_requested(live)
    page = await login(browser, live, LEAD)
    await page.goto(f"{live.url}/projects/{pid}/tasks/{draft['id']}?lang=sr")
    await expect(page.locator("#earlier-rounds")).to_contain_text(COMMENT)
    SHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SHOTS / "1-reopened-step-sr.png"), full_page=True)
