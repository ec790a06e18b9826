"""In a real browser (Debian's Chromium, driven by Playwright): a partner, a coordinator, an auditor."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from domain import parse_time
from services.seed import DEMO_PASSWORD, demo_email
from tests.utils.app import PARTNERS, actor, play, start
from tests.web.conftest import Live, Profiles

pytestmark = pytest.mark.long(29)  # seconds on 2 cores: started first (tests/conftest.py)


async def login(browser: Profiles, live: Live, org: str, lang: str = "en") -> Page:
    """Log in as ``org``'s demo user: the pages come in the user's stored language (not the browser's), then
    the switcher picks ``lang`` (which the user keeps: their mail follows it until the test ends)."""
    page = await browser.new_page()
    await page.goto(live.url + "/")
    await page.fill("input[name=email]", demo_email(org))
    await page.fill("input[name=password]", DEMO_PASSWORD)
    await page.click("button[type=submit]")
    stored = live.coopflow.language(actor(live.coopflow, org))
    await expect(page.locator("html")).to_have_attribute("lang", stored)
    if lang != stored:
        await page.select_option("select[name=lang]", lang)
        await expect(page.locator("html")).to_have_attribute("lang", lang)
    if lang == "en":
        await expect(page.locator("h1")).to_contain_text(
            "Projects to audit" if org == "audit-office" else "Open tasks of")
    return page


async def shot(page: Page, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


async def test_partner_fixes_an_invalid_report_and_it_leaves_the_inbox(browser: Profiles, live: Live,
                                                                         tmp_path: Path):
    project = await start(live.coopflow)
    await play(live.coopflow, project["id"], loops=False, until_step="progress_report")
    tasks = live.coopflow.show_project(actor(live.coopflow, "stadt-dortmund"), project["id"])["tasks"]
    reports = {t["assignee"]: t["id"] for t in tasks if t["step"] == "progress_report" and t["status"] == "open"}
    mine, others = reports.pop(PARTNERS[0]), set(reports.values())

    page = await login(browser, live, PARTNERS[0])
    mine_row = f"tr[data-project='{project['id']}'][data-task='{mine}']"
    await expect(page.locator(mine_row)).to_have_count(1)
    ids = await page.locator(f"tr[data-project='{project['id']}']").evaluate_all(
        "rows => rows.map(r => r.dataset.task)")
    assert ids == [mine], "only this partner's own report of the project is in its inbox"
    assert not others & set(ids)
    await shot(page, tmp_path, "1-partner-inbox")

    await page.goto(f"{live.url}/projects/{project['id']}/tasks/{mine}")
    await page.fill("#f-period", "April 2027")
    await page.fill("#f-activities", "Twelve counselling days")
    await page.fill("#f-people_reached", "-5")
    await page.click("button[type=submit]")
    field = page.locator("[data-field=people_reached]")
    await expect(field.locator(".error")).to_have_text("must be at least 0")
    await expect(page.locator("#f-period")).to_have_value("April 2027")  # nothing typed is lost
    await shot(page, tmp_path, "2-report-invalid")

    await page.fill("#f-people_reached", "85")
    await page.click("button[type=submit]")
    await expect(page.locator("p.notice")).to_have_text("The task is completed.")
    await expect(page.locator(mine_row)).to_have_count(0)
    await shot(page, tmp_path, "3-report-done")
    stored = live.coopflow.show_project(actor(live.coopflow, "stadt-dortmund"), project["id"])["tasks"]
    assert next(t for t in stored if t["id"] == mine)["data"]["people_reached"] == 85


async def test_coordinator_starts_a_project_from_the_form(browser: Profiles, live: Live, tmp_path: Path):
    page = await login(browser, live, "stadt-dortmund")
    await page.get_by_role("link", name="New project", exact=True).click()
    await page.fill("#f-title", "Anti-trafficking outreach")
    await page.check("input[name=partners][value=different-and-equal-al]")
    await page.check("input[name=partners][value=caritas-rs]")
    await page.fill("#f-report_count", "4")
    await shot(page, tmp_path, "4-new-project")
    await page.click("button[type=submit]")
    await expect(page.locator("h1")).to_have_text("Anti-trafficking outreach")
    await expect(page.locator("ul.owing")).to_contain_text("Concept note")
    project_id = page.url.rsplit("/", 1)[-1]
    shown = live.coopflow.show_project(actor(live.coopflow, "stadt-dortmund"), project_id)
    assert shown["partners"] == ["caritas-rs", "different-and-equal-al"] and shown["lead"] == "stadt-dortmund"
    await shot(page, tmp_path, "5-project-page")


async def test_auditor_opens_history_verifies_and_picks_a_past_date(browser: Profiles, live: Live, tmp_path: Path):
    project = await start(live.coopflow)
    await play(live.coopflow, project["id"], loops=True, until_step="draft_agreement")
    events = list(live.coopflow.list_events(actor(live.coopflow, "auditor"), project["id"]))
    page = await login(browser, live, "audit-office")
    await page.goto(f"{live.url}/projects/{project['id']}")
    await page.get_by_role("link", name="Audit", exact=True).click()
    await expect(page.locator("table.events tbody tr")).to_have_count(len(events))
    await page.click("#verify-form button")
    await expect(page.locator("#verify-result")).to_contain_text(f"The chain is unbroken: {len(events)} events")
    await page.select_option("select[name=type]", "DecisionRecorded")
    await page.click("#filter-form button")
    await expect(page.locator("table.events tbody tr")).to_have_count(2)  # revise, then approved
    # one millisecond after the concept note opened, before anyone completed it
    moment = (parse_time(events[2]["at"]) + timedelta(milliseconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:23]
    assert moment < events[3]["at"]
    await page.fill("#f-as_of", moment)
    await page.click("#as-of-form button")
    past = page.locator("#past-state")
    await expect(past).to_contain_text("Funding application")
    await expect(past.locator("tbody tr")).to_have_count(1)
    await shot(page, tmp_path, "6-auditor-as-of")


async def test_changes_more_time_and_what_a_review_is_about_in_the_browser(browser: Profiles, live: Live):
    """The coordinator extends a deadline and withdraws a partner; a partner asks for more time and gets it;
    the reviewer of the agreement sees the draft it reviews."""
    app = live.coopflow
    project = await start(app)
    pid = project["id"]
    await play(app, pid, loops=False, until_step="letter_of_intent")
    letters = {t["assignee"]: t for t in app.show_project(actor(app, "stadt-dortmund"), pid)["tasks"]
               if t["step"] == "letter_of_intent"}
    coordinator = await login(browser, live, "stadt-dortmund")
    await coordinator.goto(f"{live.url}/projects/{pid}")
    extend = coordinator.locator("#change-extend_deadline")
    await extend.locator("select[name=task_id]").select_option(letters[PARTNERS[0]]["id"])
    new_due = (parse_time(letters[PARTNERS[0]]["due_at"]) + timedelta(days=20)).date().isoformat()
    await extend.locator("input[name=due_date]").fill(new_due)
    await extend.locator("textarea[name=reason]").fill("Partner meeting moved")
    await extend.locator("button[type=submit]").click()
    await expect(coordinator.locator("p.notice")).to_be_visible()
    await expect(coordinator.locator("table.timeline")).to_contain_text("Partner meeting moved")
    withdraw = coordinator.locator("#change-withdraw_partner")
    await withdraw.locator("select[name=org]").select_option(PARTNERS[2])
    await withdraw.locator("textarea[name=reason]").fill("Left the network")
    await withdraw.locator("button[type=submit]").click()
    await coordinator.locator("#confirm-withdrawal button[type=submit]").click()
    await expect(coordinator.locator("p.notice")).to_be_visible()
    await expect(coordinator.locator("p.meta").first).not_to_contain_text("Different and Equal")
    shown = app.show_project(actor(app, "stadt-dortmund"), pid)
    assert shown["partners"] == PARTNERS[:2]
    assert next(t for t in shown["tasks"] if t["id"] == letters[PARTNERS[0]]["id"])["due_at"].startswith(new_due)

    partner = await login(browser, live, PARTNERS[1])
    await partner.goto(f"{live.url}/projects/{pid}/tasks/{letters[PARTNERS[1]]['id']}")
    later = (parse_time(letters[PARTNERS[1]]["due_at"]) + timedelta(days=10)).date().isoformat()
    ask = partner.locator("#ask-more-time")
    await ask.locator("input[name=due_date]").fill(later)
    await ask.locator("textarea[name=reason]").fill("Board meets next month")
    await ask.locator("button[type=submit]").click()
    await expect(partner.locator("p.alert")).to_contain_text("sent to the coordinators")

    await coordinator.goto(f"{live.url}/inbox")
    await coordinator.get_by_role("link", name="Decide on more time").click()
    await expect(coordinator.locator("#context")).to_contain_text("Horizon Civitas asks for more time")
    await coordinator.click("button[name=outcome][value=grant]")
    await expect(coordinator.locator("p.notice")).to_be_visible()
    letter = next(t for t in app.show_project(actor(app, "stadt-dortmund"), pid)["tasks"]
                  if t["id"] == letters[PARTNERS[1]]["id"])
    assert letter["due_at"].startswith(later)

    await play(app, pid, loops=False, until_step="review_agreement")
    review = next(t for t in app.show_project(actor(app, "stadt-dortmund"), pid)["tasks"]
                  if t["step"] == "review_agreement" and t["assignee"] == PARTNERS[0])
    reviewer = await login(browser, live, PARTNERS[0])
    await reviewer.goto(f"{live.url}/projects/{pid}/tasks/{review['id']}")
    context = reviewer.locator("#context")
    await expect(context).to_contain_text("Draft agreement")
    await expect(context).to_contain_text("agreements/2027/cooperation-v1.pdf")
    await expect(context).to_contain_text("Data protection clause included")


async def test_a_partner_attaches_its_signed_copy_and_the_auditor_downloads_it(browser: Profiles, live: Live,
                                                                            tmp_path: Path):
    """A document through the task form (a refused form keeps it), then as a link with its hash on the
    audit page, the auditor's landing page saying the trail is whole."""
    app = live.coopflow
    project = await start(app)
    pid = project["id"]
    await play(app, pid, loops=False, until_step="sign_agreement")
    task = next(t for t in app.show_project(actor(app, "stadt-dortmund"), pid)["tasks"]
                if t["step"] == "sign_agreement" and t["assignee"] == PARTNERS[0])
    signed = tmp_path / "Vereinbarung unterzeichnet.pdf"
    signed.write_bytes(b"%PDF-1.4\n% signed by Caritas\n%%EOF\n")

    partner = await login(browser, live, PARTNERS[0])
    await partner.goto(f"{live.url}/projects/{pid}/tasks/{task['id']}")
    await partner.set_input_files("#f-signed_copy", str(signed))
    await partner.click("form.card button[type=submit]")  # no signatory: refused, the document is kept
    await expect(partner.locator("[data-field=signatory] .error")).to_be_visible()
    await partner.fill("#f-signatory", "Executive director")
    await partner.click("form.card button[type=submit]")
    await expect(partner.locator("p.notice")).to_have_text("The task is completed.")
    stored = next(t for t in app.show_project(actor(app, "stadt-dortmund"), pid)["tasks"] if t["id"] == task["id"])
    document = stored["data"]["signed_copy"]
    assert document["name"] == "Vereinbarung unterzeichnet.pdf" and document["media_type"] == "application/pdf"
    for other in PARTNERS[1:]:  # the others sign without a copy; the coordinator countersigns what it sees
        theirs = next(t for t in app.show_project(actor(app, "stadt-dortmund"), pid)["tasks"]
                      if t["step"] == "sign_agreement" and t["assignee"] == other)
        await app.complete_task(actor(app, other), pid, theirs["id"], data={"signatory": "Director"})
    countersign = next(t for t in app.show_project(actor(app, "stadt-dortmund"), pid)["tasks"]
                       if t["step"] == "countersign_agreement")
    coordinator = await login(browser, live, "stadt-dortmund")
    await coordinator.goto(f"{live.url}/projects/{pid}/tasks/{countersign['id']}")
    await expect(coordinator.locator("#context a.document")).to_have_text("Vereinbarung unterzeichnet.pdf")
    app.checkpoint(actor(app, "auditor"), pid)

    auditor = await login(browser, live, "audit-office")
    row = auditor.locator(f"#audit-overview tr[data-project='{pid}']")
    await expect(row).to_contain_text("unbroken")
    await expect(row).to_contain_text("holds")
    await row.locator("a").click()
    await expect(auditor.locator("#checkpoint-status")).to_contain_text("holds")
    link = auditor.locator("table.events a.document")
    await expect(link).to_have_text("Vereinbarung unterzeichnet.pdf")
    await expect(auditor.locator("table.events code.sha256")).to_have_text(document["sha256"])
    async with auditor.expect_download() as info:
        await link.click()
    download = await info.value
    assert download.suggested_filename == "Vereinbarung unterzeichnet.pdf"
    assert Path(await download.path()).read_bytes() == signed.read_bytes()
    async with auditor.expect_download() as info:
        await auditor.get_by_role("link", name="Bundle with documents and checkpoints (ZIP)").click()
    assert (await info.value).suggested_filename == f"coopflow-{pid}.zip"
    await shot(auditor, tmp_path, "7-auditor-document")


async def test_coordinator_runs_an_expert_day_in_the_browser(browser: Profiles, live: Live, tmp_path: Path):
    """The template chosen on the new-project page, the day planned, the tables typed one a line: one
    task per table, each in its host's inbox with its topic."""
    page = await login(browser, live, "stadt-dortmund")
    await page.get_by_role("link", name="New project", exact=True).click()
    await expect(page.locator("small[data-template=expert-day]")).to_contain_text("thematic tables")
    await page.select_option("#f-template", "expert-day")
    await page.fill("#f-title", "Expert day on return")
    for org in PARTNERS:
        await page.check(f"input[name=partners][value={org}]")
    await page.click("button[type=submit]")
    await expect(page.locator("h1")).to_have_text("Expert day on return")
    project_id = page.url.rsplit("/", 1)[-1]

    def task_of(step: str, org: str = "stadt-dortmund") -> str:
        tasks = live.coopflow.show_project(actor(live.coopflow, "stadt-dortmund"), project_id)["tasks"]
        return next(t["id"] for t in tasks if t["step"] == step and t["assignee"] == org and t["status"] == "open")

    await page.goto(f"{live.url}/projects/{project_id}/tasks/{task_of('plan_day')}")
    await page.fill("#f-day_date", "2027-03-10")
    await page.fill("#f-venue", "Rathaus Dortmund")
    await page.fill("#f-target_audience", "Return counsellors")
    await page.click("button[type=submit]")
    await page.goto(f"{live.url}/projects/{project_id}/tasks/{task_of('define_tables')}")
    await page.fill("#f-tables", f"{PARTNERS[0]} | Housing\n{PARTNERS[1]} | Work and training | 2030-01-31")
    await shot(page, tmp_path, "5-tables")
    await page.click("button[type=submit]")
    for org in PARTNERS:
        await live.coopflow.complete_task(actor(live.coopflow, org), project_id, task_of("confirm_speaker", org),
                                          data={"speaker": "N. N.", "topic": "Housing"})
    await page.goto(f"{live.url}/projects/{project_id}/tasks/{task_of('hold_day')}")
    await page.fill("#f-held_on", "2027-03-10")
    await page.click("button[type=submit]")

    host = await login(browser, live, PARTNERS[1])
    await host.goto(f"{live.url}/projects/{project_id}/tasks/{task_of('table_results', PARTNERS[1])}")
    await expect(host.locator("p.meta").first).to_contain_text("Work and training")
    await expect(host.locator("#context")).to_contain_text("Housing")  # the tables, as the lead wrote them
    await host.fill("#f-results", "Three proposals")
    await host.click("button[type=submit]")
    await expect(host.locator("p.notice")).to_be_visible()
