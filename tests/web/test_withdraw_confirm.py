"""Withdrawing a partner from the project page first says what the partner will lose (its open tasks by
name, its view of the project; its completed work stays in the trail) and asks to confirm; without
JavaScript too. Nothing changes until it is confirmed."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from services.seed import DEMO_PASSWORD, demo_email
from tests.utils.app import LEAD, PARTNERS, actor, play, start
from tests.web.conftest import Live

WORDS = {
    "en": {"title": "Withdraw Horizon Civitas from the project?", "step": "Letter of intent",
           "sees": "will no longer see the project", "trail": "stays in the audit trail",
           "done": "The change is recorded."},
    "sr": {"title": "Povući Horizon Civitas iz projekta?", "step": "Pismo o namerama",
           "sees": "više neće videti projekat", "trail": "ostaje u revizorskom tragu",
           "done": "Izmena je zabeležena."},
}


@pytest.mark.parametrize("lang", ["en", "sr"])
async def test_withdrawing_a_partner_asks_first_and_says_what_it_loses(chromium: Browser, live: Live, lang: str):
    project = await start(live.coopflow)
    await play(live.coopflow, project["id"], loops=False, until_step="letter_of_intent")
    withdrawn, words = PARTNERS[1], WORDS[lang]
    context = await chromium.new_context(java_script_enabled=False, viewport={"width": 1200, "height": 900})
    try:
        page = await context.new_page()
        await page.goto(f"{live.url}/login?lang={lang}")
        await page.fill("input[name=email]", demo_email(LEAD))
        await page.fill("input[name=password]", DEMO_PASSWORD)
        await page.click("button[type=submit]")
        await page.goto(f"{live.url}/projects/{project['id']}?lang={lang}")
        form = page.locator("#change-withdraw_partner")
        await form.locator("select[name=org]").select_option(withdrawn)
        await form.locator("textarea[name=reason]").fill("Left the programme")
        await form.locator("button[type=submit]").click()

        confirm = page.locator("#confirm-withdrawal")
        await expect(page.locator("h1")).to_have_text(words["title"])
        await expect(confirm.locator(".loses-tasks li")).to_have_count(1)
        await expect(confirm.locator(".loses-tasks li")).to_contain_text(words["step"])
        await expect(confirm).to_contain_text(words["sees"])
        await expect(confirm).to_contain_text(words["trail"])
        still = live.coopflow.show_project(actor(live.coopflow, LEAD), project["id"], via=None)
        assert withdrawn in still["partners"], "nothing is sent before it is confirmed"

        await confirm.locator("button[type=submit]").click()
        await expect(page.locator("p.notice")).to_have_text(words["done"])
        after = live.coopflow.show_project(actor(live.coopflow, LEAD), project["id"], via=None)
        assert withdrawn not in after["partners"]
    finally:
        await context.close()
