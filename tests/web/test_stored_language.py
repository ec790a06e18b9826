"""The language a user chose is theirs: stored with the user, it wins over the browser's after log-in, and
the switcher on every page changes it (pages and mail) for a signed-in user."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import expect
from sqlalchemy import text

from services.seed import DEMO_PASSWORD, demo_email
from tests.web.conftest import Live, Profiles, http_login


def stored_language(live: Live, org: str) -> str:
    with live.coopflow.engine.connect() as conn:
        return str(conn.execute(text("SELECT lang FROM user WHERE org_id = :org"), {"org": org}).scalar_one())


@pytest.mark.parametrize(("org", "lang"), [("caritas-rs", "sr"), ("horizon-civitas-mk", "mk"),
                                           ("different-and-equal-al", "sq")])
async def test_after_log_in_pages_are_in_the_users_stored_language_not_the_browsers(live: Live, org: str,
                                                                                     lang: str):
    async with httpx.AsyncClient(base_url=live.url, headers={"Accept-Language": "en-GB,en;q=0.9"}) as http:
        assert '<html lang="en">' in (await http.get("/login")).text  # before log-in: the browser's
        await http_login(http, demo_email(org), None)
        for path in ("/inbox", "/projects"):
            assert f'<html lang="{lang}">' in (await http.get(path)).text, path


@pytest.mark.parametrize(("org", "picked"), [("caritas-rs", "de"), ("stadt-dortmund", "mk")])
async def test_the_switcher_changes_a_signed_in_users_stored_language(live: Live, org: str, picked: str):
    async with httpx.AsyncClient(base_url=live.url, headers={"Accept-Language": "en"}) as http:
        await http_login(http, demo_email(org), None)
        assert f'<html lang="{picked}">' in (await http.get("/inbox", params={"lang": picked})).text
    assert stored_language(live, org) == picked  # the mail follows
    async with httpx.AsyncClient(base_url=live.url, headers={"Accept-Language": "en"}) as other_browser:
        await http_login(other_browser, demo_email(org), None)
        assert f'<html lang="{picked}">' in (await other_browser.get("/inbox")).text


async def test_the_switcher_on_a_page_before_log_in_stores_nothing(live: Live):
    async with httpx.AsyncClient(base_url=live.url) as http:
        assert '<html lang="sq">' in (await http.get("/login", params={"lang": "sq"})).text
    assert stored_language(live, "caritas-rs") == "sr"


async def test_in_the_browser_the_stored_language_wins_and_the_switcher_still_works(browser: Profiles, live: Live):
    page = await browser.new_page()  # an English browser (en-GB)
    await page.goto(live.url + "/")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await page.fill("input[name=email]", demo_email("stadt-dortmund"))
    await page.fill("input[name=password]", DEMO_PASSWORD)
    await page.click("button[type=submit]")
    await expect(page.locator("html")).to_have_attribute("lang", "de")
    await expect(page.locator("h1")).to_contain_text("Offene Aufgaben")
    await page.select_option("select[name=lang]", "en")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator("h1")).to_contain_text("Open tasks of")
    await page.get_by_role("link", name="Projects", exact=True).first.click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    assert stored_language(live, "stadt-dortmund") == "en"
