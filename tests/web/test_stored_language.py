"""The language a user chose is theirs: stored with the user, it wins over the browser's after log-in, and
the switcher on every page changes it (pages and mail) for a signed-in user."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import expect
from sqlalchemy import text

from services.seed import DEMO_PASSWORD, demo_email
from tests.web.conftest import Live, Profiles, http_login, switch_language


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
        await switch_language(http, picked, "/projects")
        assert f'<html lang="{picked}">' in (await http.get("/projects")).text
    assert stored_language(live, org) == picked  # the mail follows
    async with httpx.AsyncClient(base_url=live.url, headers={"Accept-Language": "en"}) as other_browser:
        await http_login(other_browser, demo_email(org), None)
        assert f'<html lang="{picked}">' in (await other_browser.get("/inbox")).text


async def test_the_switcher_on_a_page_before_log_in_stores_nothing(live: Live):
    async with httpx.AsyncClient(base_url=live.url) as http:
        switched = await switch_language(http, "sq", "/login?next=/projects")
        assert str(switched.url).endswith("/login?next=%2Fprojects")  # the page it was on, kept in this browser
        assert '<html lang="sq">' in (await http.get("/login")).text
    assert stored_language(live, "caritas-rs") == "sr"


async def test_a_link_with_lang_shows_the_page_in_it_but_changes_no_users_language(live: Live):
    """A GET changes nothing a user keeps: ?lang= shows the page (and this browser's next ones) in that
    language, but the user's own language (their next log-in, their mail) stays as it was."""
    async with httpx.AsyncClient(base_url=live.url, headers={"Accept-Language": "en"}) as http:
        await http_login(http, demo_email("caritas-rs"), None)
        assert '<html lang="de">' in (await http.get("/inbox", params={"lang": "de"})).text
        assert '<html lang="de">' in (await http.get("/projects")).text
    assert stored_language(live, "caritas-rs") == "sr"
    async with httpx.AsyncClient(base_url=live.url, headers={"Accept-Language": "en"}) as other_browser:
        await http_login(other_browser, demo_email("caritas-rs"), None)
        assert '<html lang="sr">' in (await other_browser.get("/inbox")).text


async def test_the_switcher_of_a_signed_in_user_needs_the_sessions_token(live: Live):
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, demo_email("horizon-civitas-mk"), None)
        forged = await http.post("/language", data={"lang": "de", "next": "/inbox"})  # another site's form
        assert forged.status_code == 403
        wrong = await http.post("/language", data={"lang": "de", "next": "/inbox", "csrf": "not-the-token"})
        assert wrong.status_code == 403
        assert '<html lang="mk">' in (await http.get("/inbox")).text
    assert stored_language(live, "horizon-civitas-mk") == "mk"


async def test_the_switcher_works_without_javascript_on_the_page_a_refused_form_answered(browser: Profiles,
                                                                                         live: Live):
    """Its OK button sends it; on the answer to a form (the refused log-in here) it comes back to the page
    the form was on."""
    context = await browser.chromium.new_context(java_script_enabled=False, locale="en-GB")
    browser.contexts.append(context)
    page = await context.new_page()
    await page.goto(live.url + "/login")
    await page.fill("input[name=email]", demo_email("caritas-rs"))
    await page.fill("input[name=password]", "not the password")
    await page.click("form:not(.lang) button[type=submit]")
    await page.select_option("select[name=lang]", "mk")
    await page.click("form.lang button")
    await expect(page.locator("html")).to_have_attribute("lang", "mk")
    assert page.url.endswith("/login")
    await page.fill("input[name=email]", demo_email("caritas-rs"))
    await page.fill("input[name=password]", DEMO_PASSWORD)
    await page.click("form:not(.lang) button[type=submit]")
    await expect(page.locator("html")).to_have_attribute("lang", "sr")  # the user's own, once signed in
    await page.select_option("select[name=lang]", "sq")
    await page.click("form.lang button")
    await expect(page.locator("html")).to_have_attribute("lang", "sq")
    assert page.url.endswith("/inbox")
    assert stored_language(live, "caritas-rs") == "sq"


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
