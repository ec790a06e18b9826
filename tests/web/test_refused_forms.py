"""A refused form keeps everything typed, with the error next to the field it is about, in the reader's
language; a form too large to read says what the person did (a document over the upload limit)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from markupsafe import escape
from playwright.async_api import expect

from domain import parse_time
from services.seed import demo_email
from tests.utils.app import PARTNERS, actor, play, start
from tests.web.conftest import Live, Profiles, http_login
from tests.web.test_browser import login
from tests.web.test_step_feedback import open_task
from web.i18n import catalog

REASON = "Our director signs only after the board meets on 3 March"


@pytest.mark.parametrize("lang", ["en", "sr", "mk"])
async def test_a_refused_request_for_more_time_keeps_the_date_and_reason_and_says_why_beside_the_date(
        browser: Profiles, live: Live, lang: str):
    project = await start(live.coopflow)
    await play(live.coopflow, project["id"], loops=False, until_step="letter_of_intent")
    letter = open_task(live, project["id"], "letter_of_intent", PARTNERS[0])
    earlier = (parse_time(letter["due_at"]) - timedelta(days=1)).date().isoformat()  # not later: refused
    page = await login(browser, live, PARTNERS[0], lang)
    await page.goto(f"{live.url}/projects/{project['id']}/tasks/{letter['id']}")
    await page.fill("#f-more-due", earlier)
    await page.fill("#f-more-reason", REASON)
    await page.click("#ask-more-time button[type=submit]")
    due = page.locator("#ask-more-time [data-field=due_date]")
    await expect(due.locator(".error")).to_have_text(catalog(lang)["cp_due_not_later"])
    await expect(page.locator("#f-more-due")).to_have_value(earlier)
    await expect(page.locator("#f-more-reason")).to_have_value(REASON)
    await expect(page.locator("p.alert")).to_have_count(0)  # not at the top of the page, away from the form


@pytest.mark.parametrize("lang", ["en", "de", "sq"])
async def test_a_request_for_more_time_without_a_reason_says_so_beside_the_reason(live: Live, lang: str):
    project = await start(live.coopflow)
    await play(live.coopflow, project["id"], loops=False, until_step="letter_of_intent")
    letter = open_task(live, project["id"], "letter_of_intent", PARTNERS[0])
    later = (parse_time(letter["due_at"]) + timedelta(days=30)).date().isoformat()
    url = f"/projects/{project['id']}/tasks/{letter['id']}"
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, demo_email(PARTNERS[0]))
        csrf = (await http.get(url, params={"lang": lang})).text.split('name="csrf" value="')[1].split('"')[0]
        refused = await http.post(url + "/extension", data={"csrf": csrf, "due_date": later, "reason": " "})
    assert refused.status_code == 422
    form = refused.text[refused.text.index('id="ask-more-time"'):]
    reason = form[form.index('data-field="reason"'):]
    assert str(escape(catalog(lang)["cp_reason_required"])) in reason.split("</div>")[0]
    assert f'value="{later}"' in form
    assert 'class="alert"' not in refused.text


@pytest.mark.parametrize("lang", ["en", "sr"])
async def test_a_document_over_the_limit_is_refused_for_its_size_not_as_a_form_too_large(live: Live, lang: str):
    project = await start(live.coopflow)
    await play(live.coopflow, project["id"], loops=False, until_step="progress_report")
    report = open_task(live, project["id"], "progress_report", PARTNERS[0])
    url = f"/projects/{project['id']}/tasks/{report['id']}"
    limit = round(live.coopflow.max_document_bytes / 2**20)
    async with httpx.AsyncClient(base_url=live.url, timeout=60) as http:
        await http_login(http, demo_email(PARTNERS[0]))
        page = (await http.get(url, params={"lang": lang})).text
        assert catalog(lang)["upload_hint"].format(mb=limit) in page  # what the form promises
        csrf = page.split('name="csrf" value="')[1].split('"')[0]
        big = b"%PDF-1.4\n" + b"0" * (live.coopflow.max_document_bytes + 2**20)
        refused = await http.post(url, data={"csrf": csrf, "period": "May", "activities": "x", "people_reached": "3"},
                                  files={"attachment": ("report.pdf", big, "application/pdf")})
    assert refused.status_code == 413
    size = f"{len(big) / 2**20:.1f}"
    assert catalog(lang)["form_too_large"].split("(")[0] not in refused.text  # the form had one document
    said = catalog(lang)["document_too_large"].format(limit=limit, size=size)
    assert str(escape(said)) in refused.text, refused.text[-2000:]


@pytest.mark.parametrize("lang", ["en", "mk"])
async def test_a_refused_form_says_beside_the_file_field_that_the_chosen_document_is_kept(
        browser: Profiles, live: Live, lang: str, tmp_path: Path):
    project = await start(live.coopflow)
    await play(live.coopflow, project["id"], loops=False, until_step="progress_report")
    report = open_task(live, project["id"], "progress_report", PARTNERS[0])
    document = tmp_path / "report.pdf"
    document.write_bytes(b"%PDF-1.4\nreport\n")
    page = await login(browser, live, PARTNERS[0], lang)
    await page.goto(f"{live.url}/projects/{project['id']}/tasks/{report['id']}")
    await page.fill("#f-period", "May 2027")
    await page.fill("#f-activities", "Counselling")
    await page.fill("#f-people_reached", "-1")
    await page.set_input_files("#f-attachment", str(document))
    await page.click("form.card button[type=submit]")
    await expect(page.locator("[data-field=people_reached] .error")).to_be_visible()
    attachment = page.locator("[data-field=attachment]")
    await expect(attachment.locator(".kept")).to_have_text(catalog(lang)["upload_kept"])
    await expect(page.locator("#f-period")).to_have_value("May 2027")
    await page.fill("#f-people_reached", "12")
    await page.click("form.card button[type=submit]")
    await expect(page.locator("p.notice")).to_have_text(catalog(lang)["task_done"])
    tasks = live.coopflow.show_project(actor(live.coopflow, PARTNERS[0]), project["id"])["tasks"]
    assert next(t for t in tasks if t["id"] == report["id"])["data"]["attachment"]  # the kept one was sent
