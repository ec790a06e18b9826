"""Small things people hit: a task owed by someone else is read-only, the new-project form shows report
fields only for templates with reports, CSV opens in Excel, a favicon."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import expect

from services.seed import demo_email
from tests.utils.app import LEAD, PARTNERS, play, start
from tests.web.conftest import Live, Profiles, http_login
from tests.web.test_browser import login
from tests.web.test_step_feedback import open_task


@pytest.mark.parametrize(("lang", "owed"), [("en", "Only Caritas Srbija can complete this task"),
                                             ("sr", "Samo Caritas Srbija može da završi ovaj zadatak")])
async def test_a_task_owed_by_another_organisation_is_shown_read_only(live: Live, lang: str, owed: str):
    project = await start(live.coopflow)
    await play(live.coopflow, project["id"], loops=False, until_step="letter_of_intent")
    letter = open_task(live, project["id"], "letter_of_intent", PARTNERS[0])
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, demo_email(PARTNERS[1]))
        page = (await http.get(f"/projects/{project['id']}/tasks/{letter['id']}", params={"lang": lang})).text
        assert owed in page
        assert 'name="contribution"' not in page and "ask-more-time" not in page  # no form it cannot send
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, demo_email(PARTNERS[0]))
        mine = (await http.get(f"/projects/{project['id']}/tasks/{letter['id']}")).text
        assert 'name="contribution"' in mine and owed not in mine


async def test_the_new_project_form_shows_report_fields_only_for_templates_with_reports(browser: Profiles,
                                                                                          live: Live):
    page = await login(browser, live, LEAD)
    await page.goto(live.url + "/projects/new")
    await expect(page.locator("#f-report_count")).to_be_visible()
    await page.select_option("#f-template", "expert-day")
    await expect(page.locator("#f-report_count")).to_be_hidden()
    await expect(page.locator("#f-report_every")).to_be_hidden()
    await page.select_option("#f-template", "cooperation")
    await expect(page.locator("#f-report_count")).to_be_visible()


async def test_csv_export_has_a_byte_order_mark_and_a_favicon_is_served(live: Live):
    project = await start(live.coopflow, title="Повратак и реинтеграција")
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, demo_email(LEAD))
        exported = await http.get(f"/projects/{project['id']}/audit/export", params={"format": "csv"})
        assert exported.status_code == 200
        assert exported.content.startswith(b"\xef\xbb\xbf"), exported.content[:20]
        assert "Повратак" in exported.content.decode("utf-8-sig")
        icon = await http.get("/favicon.ico")
        assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/")


@pytest.mark.parametrize(("email", "lang", "said"), [(demo_email(PARTNERS[0]), "sr", "Zadatak je završen."),
                                                     (demo_email("audit-office"), "mk", "Задачата е завршена.")])
async def test_the_banner_after_a_completion_names_no_task_id(live: Live, email: str, lang: str, said: str):
    """The banner says the task is completed in the reader's words; a task's id ("(t7)") means nothing to them."""
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, email)
        page = (await http.get("/inbox", params={"done": "t7", "lang": lang})).text
    banner = page.split('class="notice" role="status">', 1)[1].split("</p>", 1)[0]
    assert banner == said
