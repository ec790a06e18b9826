"""The settings page: mail preferences chosen in the browser (and refused, named at the field), the calendar
address made, renewed and revoked, in all five languages."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import expect

from services.seed import DEMO_PASSWORD
from store import accounts
from tests.web.conftest import Live, Profiles, http_login
from web.i18n import LANGUAGES, MISSING


def new_person(live: Live, lang: str = "de") -> str:
    """A partner of an organisation of this test's own, with the demo password; their e-mail."""
    org = f"org-{uuid.uuid4().hex[:8]}"
    accounts.add_org(live.coopflow.engine, org_id=org, name="Horizont", country="MK")
    email = f"person@{org}.example"
    accounts.add_user(live.coopflow.engine, email=email, org_id=org, role="partner", lang=lang, password=DEMO_PASSWORD)
    return email


async def test_preferences_and_the_calendar_address_from_the_page(browser: Profiles, live: Live):
    email = new_person(live)
    page = await browser.new_page()
    await page.goto(live.url + "/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", DEMO_PASSWORD)
    await page.click("button[type=submit]")
    await page.get_by_role("link", name="Einstellungen").click()
    await expect(page.locator("h1")).to_have_text("Meine Einstellungen")
    await expect(page.get_by_label("Eine Mail zu jeder neuen Aufgabe")).to_be_checked()

    await page.get_by_label("Eine Übersicht am Tag, um 7:00 Uhr in meiner Zeitzone").check()
    await page.select_option("#f-lang", "sr")
    await page.select_option("#f-timezone", "Europe/Belgrade")
    await page.get_by_role("button", name="Speichern").click()
    await expect(page.locator("html")).to_have_attribute("lang", "sr")  # the pages follow the language chosen
    await expect(page.locator("#settings-saved")).to_have_text("Vaša podešavanja su sačuvana.")
    me = accounts.user_by_email(live.coopflow.engine, email)
    assert (me.mail, me.lang, me.timezone) == ("daily", "sr", "Europe/Belgrade")
    await expect(page.locator("#f-timezone")).to_have_value("Europe/Belgrade")

    await expect(page.locator("#calendar-none")).to_be_visible()
    await page.get_by_role("button", name="Napravi adresu kalendara").click()
    first = await page.locator("#feed-url").input_value()
    assert re.fullmatch(r"/calendar/[A-Za-z0-9_-]{43}\.ics", urlsplit(first).path)
    async with httpx.AsyncClient(base_url=live.url) as anyone:  # no session: the secret is the credential
        feed = await anyone.get(urlsplit(first).path)
        assert feed.status_code == 200 and feed.headers["content-type"] == "text/calendar; charset=utf-8"
        await page.get_by_role("button", name="Napravi novu adresu").click()
        second = await page.locator("#feed-url").input_value()
        assert second != first
        assert (await anyone.get(urlsplit(first).path)).status_code == 404
        await page.get_by_role("button", name="Ukini adresu kalendara").click()
        await expect(page.get_by_role("status")).to_have_text("Adresa vašeg kalendara više ne radi.")
        assert (await anyone.get(urlsplit(second).path)).status_code == 404
    await page.goto(live.url + "/settings")
    await expect(page.locator("#calendar-none")).to_be_visible()


@pytest.mark.parametrize("lang", list(LANGUAGES))
async def test_the_page_speaks_each_language_and_names_a_refused_field(live: Live, lang: str):
    email = new_person(live, lang)
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, email, None)
        page = await http.get("/settings")
        assert page.status_code == 200 and f'<html lang="{lang}">' in page.text
        assert MISSING.format("")[0] not in page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        refused = await http.post("/settings/preferences", data={
            "csrf": csrf, "mail": "daily", "lang": lang, "timezone": "Mars/Olympus_Mons"})
        assert refused.status_code == 422
        assert 'aria-describedby="h-timezone e-timezone"' in refused.text and 'id="e-timezone"' in refused.text
        assert MISSING.format("")[0] not in refused.text
        assert accounts.user_by_email(live.coopflow.engine, email).mail == "immediate"  # nothing changed
        stale = await http.post("/settings/preferences", data={"csrf": "stale", "mail": "daily", "lang": lang,
                                                                "timezone": "UTC"})
        assert stale.status_code == 403
        made = await http.post("/settings/calendar", data={"csrf": csrf, "action": "renew"})
        assert made.status_code == 200 and 'id="feed-url"' in made.text and MISSING.format("")[0] not in made.text
