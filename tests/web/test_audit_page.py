"""The audit page: its as-of picker to the second, its organisation filter, signing a checkpoint there."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import httpx
from playwright.async_api import expect

from domain import parse_time
from services.seed import demo_email
from tests.utils.app import LEAD, PARTNERS, actor, start
from tests.web.conftest import Live, Profiles, http_login
from tests.web.test_browser import login
from tests.web.test_page_fixes import csrf_of


async def test_the_as_of_picker_keeps_seconds_and_a_minute_it_sends_means_second_zero(browser: Profiles,
                                                                                        live: Live):
    """Chromium sends 13:26:00 as ``T13:26`` (it drops zero seconds): on the page that is 13:26:00, not the
    whole minute up to 13:26:59."""
    while not 2 <= datetime.now(UTC).second <= 50:  # the project starts after second 0 of its minute
        await asyncio.sleep(0.2)
    project = await start(live.coopflow)
    events = list(live.coopflow.list_events(actor(live.coopflow, "auditor"), project["id"]))
    first = parse_time(events[0]["at"])
    minute = first.replace(second=0, microsecond=0)
    page = await login(browser, live, "audit-office")
    await page.goto(f"{live.url}/projects/{project['id']}/audit")
    picker = page.locator("#f-as_of")
    assert await picker.get_attribute("step") in ("1", "0.001")  # the picker shows seconds
    await picker.fill(minute.strftime("%Y-%m-%dT%H:%M:%S"))
    assert await picker.input_value() == minute.strftime("%Y-%m-%dT%H:%M")  # what the browser sends
    await page.click("#as-of-form button")
    await expect(page.locator("p.alert")).to_have_text("The project did not exist yet at that moment.")
    await expect(page.locator("#past-state")).to_have_count(0)
    await expect(picker).to_have_value(minute.strftime("%Y-%m-%dT%H:%M"))  # kept, as second zero

    await picker.fill(first.strftime("%Y-%m-%dT%H:%M:%S"))  # the second the project started in
    await page.click("#as-of-form button")
    await expect(page.locator("#past-state h2")).to_contain_text(first.strftime("%H:%M:%S UTC"))
    await expect(page.locator("#past-state tbody tr")).to_have_count(1)

    # the filter's "until" picker reads a minute the same way: nothing happened up to 13:26:00
    await page.fill("#filter-form input[name=until]", minute.strftime("%Y-%m-%dT%H:%M:%S"))
    await page.click("#filter-form button")
    await expect(page.locator("table.events tbody tr")).to_have_count(0)
    await page.fill("#filter-form input[name=until]", (minute + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S"))
    await page.click("#filter-form button")
    await expect(page.locator("table.events tbody tr")).to_have_count(len(events))


async def test_the_organisation_filter_keeps_a_withdrawn_partner_marked_in_the_readers_language(live: Live):
    """An auditor still looks for what a partner did before it withdrew: it stays in the filter, marked."""
    app = live.coopflow
    project = await start(app)
    pid = project["id"]
    await app.change_project(actor(app, LEAD), pid, kind="withdraw_partner", org=PARTNERS[1],
                             reason="Left the network")
    names = app.org_names()
    said = {"en": "withdrawn", "sr": "više nije partner", "mk": "веќе не е партнер"}
    for lang, mark in said.items():
        async with httpx.AsyncClient(base_url=live.url, cookies={"coopflow_lang": lang}) as http:
            await http_login(http, demo_email("audit-office"), lang)
            page = await http.get(f"/projects/{pid}/audit")
        options = dict(re.findall(r'<option value="([^"]+)" >([^<]*)</option>',
                                  page.text.split('name="org"')[1].split("</select>")[0]))
        assert list(options) == [LEAD, PARTNERS[0], PARTNERS[2], PARTNERS[1]], options
        assert options[PARTNERS[1]] == f"{names[PARTNERS[1]]} ({mark})"
        assert all(f"({mark})" not in options[o] for o in (LEAD, PARTNERS[0], PARTNERS[2]))


async def test_an_auditor_signs_a_checkpoint_on_the_audit_page(browser: Profiles, live: Live):
    app = live.coopflow
    project = await start(app)
    events = list(app.list_events(actor(app, "auditor"), project["id"]))
    page = await login(browser, live, "audit-office")
    await page.goto(f"{live.url}/projects/{project['id']}/audit")
    status = page.locator("#checkpoint-status")
    await expect(status).to_contain_text("Not signed yet")
    await status.get_by_role("button", name="Sign a checkpoint now").click()
    await expect(page.locator("#checkpoint-signed")).to_contain_text("Checkpoint signed")
    await expect(status).to_contain_text(f"The signed checkpoint of {len(events)} events")
    assert [c["tree_size"] for c in app.checkpoints(actor(app, "auditor"), project["id"])] == [len(events)]


async def test_the_lead_signs_a_checkpoint_a_partner_may_not(live: Live):
    app = live.coopflow
    project = await start(app)
    pid = project["id"]
    async with httpx.AsyncClient(base_url=live.url, cookies={"coopflow_lang": "de"}) as http:
        await http_login(http, demo_email(LEAD), "de")
        page = await http.get(f"/projects/{pid}/audit")
        done = await http.post(f"/projects/{pid}/audit/checkpoint", data={"csrf": csrf_of(page.text)},
                               follow_redirects=True)
        assert "Prüfpunkt signiert" in done.text, done.text[-3000:]
        forged = await http.post(f"/projects/{pid}/audit/checkpoint", data={"csrf": "forged"})
        assert forged.status_code == 403
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, demo_email(PARTNERS[0]))
        page = await http.get(f"/projects/{pid}/audit")
        assert 'id="checkpoint-form"' not in page.text
        refused = await http.post(f"/projects/{pid}/audit/checkpoint", data={"csrf": csrf_of(page.text)})
        assert refused.status_code == 404
    assert len(app.checkpoints(actor(app, LEAD), pid)) == 1


async def test_a_web_app_without_the_signing_key_says_where_checkpoints_are_signed(live: Live, monkeypatch):
    """As in production (COOPFLOW_VERIFIER_KEY only): the button is disabled with the reason, and a POST
    made anyway answers with it, in the reader's language."""
    app = live.coopflow
    project = await start(app)
    pid = project["id"]
    monkeypatch.setattr(app, "_verifier", app.signer.verifier)
    monkeypatch.setattr(app, "_signer", None)  # as Coopflow.configured(signs=False) makes the web's
    said = {"en": "COOPFLOW_SIGNING_KEY", "sr": "potpisuje se tamo gde", "mk": "се потпишува таму каде"}
    for lang, words in said.items():
        async with httpx.AsyncClient(base_url=live.url, cookies={"coopflow_lang": lang}) as http:
            await http_login(http, demo_email("audit-office"), lang)
            page = await http.get(f"/projects/{pid}/audit")
            form = page.text.split('id="checkpoint-form"')[1].split("</form>")[0]
            assert "disabled" in form and words in form and "coopflow audit checkpoint" in form, form
            done = await http.post(f"/projects/{pid}/audit/checkpoint", data={"csrf": csrf_of(page.text)},
                                   follow_redirects=True)
            alert = done.text.split('role="alert"')[1].split("</p>")[0]
            assert words in alert, done.text[-3000:]
    assert app.checkpoints(actor(app, "auditor"), pid) == []
