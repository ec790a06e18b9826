"""A refused change of the project page (and its erasure form) comes back as the page, with everything typed
kept in its form and the reason beside the field it is about, in the reader's language; nothing changed."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from markupsafe import escape
from playwright.async_api import expect

from domain import parse_time
from services.seed import demo_email
from tests.utils.app import LEAD, PARTNERS, actor, play, start
from tests.web.conftest import Live, Profiles, http_login
from tests.web.test_browser import login
from tests.web.test_page_messages import csrf_of
from web.i18n import catalog

REASON = "The director is away until March"


@pytest.mark.parametrize("lang", ["en", "sr"])
async def test_a_refused_deadline_change_keeps_the_task_date_and_reason_and_says_why_beside_the_date(
        browser: Profiles, live: Live, lang: str):
    project = await start(live.coopflow)
    task = next(t for t in project["tasks"] if t["status"] == "open")
    earlier = (parse_time(task["due_at"]) - timedelta(days=1)).date().isoformat()  # not later: refused
    page = await login(browser, live, LEAD, lang)
    await page.goto(f"{live.url}/projects/{project['id']}")
    form = page.locator("#change-extend_deadline")
    await form.locator("select[name=task_id]").select_option(task["id"])
    await page.fill("#f-extend-due", earlier)
    await page.fill("#f-extend_deadline-reason", REASON)
    await form.locator("button[type=submit]").click()
    due = form.locator("[data-field=due_date]")
    await expect(due.locator(".error")).to_have_text(catalog(lang)["cp_due_not_later"])
    await expect(page.locator("#f-extend-due")).to_have_value(earlier)
    await expect(page.locator("#f-extend_deadline-reason")).to_have_value(REASON)
    await expect(form.locator("select[name=task_id]")).to_have_value(task["id"])
    await expect(page.locator("#f-extend-due")).to_be_focused()  # the page opens at the field at fault
    await expect(page.locator("p.alert")).to_have_count(0)  # not at the top of the page, away from the form
    await expect(page.locator("#change-waive .error")).to_have_count(0)  # the other forms are as they were
    await expect(page.locator("#f-waive-reason")).to_have_value("")
    after = live.coopflow.show_project(actor(live.coopflow, LEAD), project["id"])
    assert next(t for t in after["tasks"] if t["id"] == task["id"])["due_at"] == task["due_at"]


@pytest.mark.parametrize("lang", ["de", "mk"])
async def test_each_change_form_keeps_what_was_typed_and_says_why_beside_its_field(live: Live, lang: str):
    app = live.coopflow
    project = await start(app)
    pid, url = project["id"], f"/projects/{project['id']}"
    task = next(t for t in project["tasks"] if t["status"] == "open")
    said = catalog(lang)
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, demo_email(LEAD), lang)
        csrf = csrf_of((await http.get(url)).text)

        async def refused(kind: str, field: str, key: str, **sent: str) -> str:
            answer = await http.post(url + "/changes", data={"csrf": csrf, "kind": kind, **sent})
            assert answer.status_code == 422, (kind, answer.status_code)
            form = answer.text[answer.text.index(f'id="change-{kind}"'):].split("</form>")[0]
            at = form[form.index(f'data-field="{field}"'):].split("</div>")[0]
            assert 'class="error"' in at and str(escape(said[key])) in at, (kind, at)
            assert 'class="alert"' not in answer.text
            return form

        form = await refused("waive", "reason", "cp_reason_required", task_id=task["id"], reason=" ")
        assert re.search(rf'<option value="{task["id"]}" selected>', form)
        await play(app, pid, loops=False, until_step="letter_of_intent")
        theirs = next(t for t in app.show_project(actor(app, LEAD), pid)["tasks"]
                      if t["status"] == "open" and t["assignee"] in PARTNERS)
        form = await refused("reassign", "org", "cp_not_other_partner", task_id=theirs["id"],
                             org=theirs["assignee"], reason=REASON)
        assert f'<option value="{theirs["assignee"]}" selected>' in form and REASON in form
        form = await refused("cancel", "confirm", "cp_confirm", reason=REASON)
        assert REASON in form
        for partner in PARTNERS[1:]:
            await app.change_project(actor(app, LEAD), pid, kind="withdraw_partner", org=partner, reason="left")
        form = await refused("withdraw_partner", "org", "cp_last_partner", org=PARTNERS[0], reason=REASON,
                             confirm="yes")
        assert f'<option value="{PARTNERS[0]}" selected>' in form and REASON in form
    assert app.show_project(actor(app, LEAD), pid)["status"] == "active"
    assert len(list(app.list_events(actor(app, LEAD), pid, type="PartnerWithdrawn"))) == 2, "refusals wrote nothing"


async def test_a_change_refused_to_someone_the_page_shows_no_change_form_says_why_at_the_top(live: Live):
    project = await start(live.coopflow)
    task = next(t for t in project["tasks"] if t["status"] == "open")
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, demo_email(PARTNERS[0]), "sr")
        csrf = csrf_of((await http.get(f"/projects/{project['id']}")).text)
        refused = await http.post(f"/projects/{project['id']}/changes", data={
            "csrf": csrf, "kind": "waive", "task_id": task["id"], "reason": REASON})
    assert refused.status_code == 403 and 'id="change-waive"' not in refused.text
    assert re.search(r'<p class="alert"[^>]*>(.*?)</p>', refused.text).group(1) == str(  # type: ignore[union-attr]
        escape(catalog("sr")["cp_forbidden"]))
