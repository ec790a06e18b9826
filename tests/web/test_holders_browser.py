"""Three people of one partner organisation in a real browser: the lead's coordinator assigns a letter of intent
to Ana, Ana hands it to Marko, Marko names Jelena his substitute, and Jelena — marked as standing in for him —
completes it during his absence; the mails about it go to whoever holds it, checked at a real SMTP sink."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from playwright.async_api import Page, expect

from activities.sender import MailSender, Smtp
from services.devstack import MailSink
from services.seed import DEMO_PASSWORD, demo_email
from store.outbox import list_mail
from tests.utils.app import LEAD, PARTNERS, actor, start
from tests.utils.people import Colleague
from tests.utils.scenario import SAMPLE_DATA
from tests.web.conftest import Live, Profiles

CARITAS = PARTNERS[0]


async def log_in(browser: Profiles, live: Live, email: str) -> Page:
    page = await browser.new_page()
    await page.goto(live.url + "/login?lang=en")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", DEMO_PASSWORD)
    await page.click("button[type=submit]")
    await expect(page.locator("h1")).to_contain_text("Open tasks of")
    return page


async def deliver(live: Live, sink: MailSink, project_id: str) -> list[dict[str, str]]:
    """Send the project's outbox to the SMTP sink; what it received for the project."""
    stop = asyncio.Event()
    sender = asyncio.create_task(MailSender(live.coopflow.engine, Smtp("127.0.0.1", sink.port), every=0.2).run(stop))
    deadline = time.monotonic() + 60
    while any(m["status"] != "sent" for m in list_mail(live.coopflow.engine, project_id=project_id)):
        assert time.monotonic() < deadline, "the outbox was not delivered"
        await asyncio.sleep(0.2)
    stop.set()
    await sender
    return [m for m in sink.received if f"<{project_id}." in m["message_id"]]


async def test_take_hand_on_and_a_substitute_completes_in_the_browser(
        browser: Profiles, live: Live, sink: MailSink, colleagues_of: Callable[..., list[Colleague]]):
    app = live.coopflow
    ana, marko, jelena = colleagues_of(app.engine, CARITAS, ["Ana Petrović", "Marko Jovanović", "Jelena Ilić"])
    lead = actor(app, LEAD)
    pid = (await start(app))["id"]
    await app.complete_task(lead, pid, "t1", data=SAMPLE_DATA["concept_note"])
    tid = next(t["id"] for t in app.list_tasks(actor(app, CARITAS)) if t["project_id"] == pid)
    task_url = f"{live.url}/projects/{pid}/tasks/{tid}"
    row = f"tr[data-project='{pid}'][data-task='{tid}']"

    # the lead's coordinator assigns it to Ana, by name
    coordinator = await browser.new_page()
    await coordinator.goto(live.url + "/login?lang=en")
    await coordinator.fill("input[name=email]", demo_email(LEAD))
    await coordinator.fill("input[name=password]", DEMO_PASSWORD)
    await coordinator.click("button[type=submit]")
    await coordinator.goto(task_url + "?lang=en")
    await expect(coordinator.locator("#holder-now")).to_have_text("Nobody holds this task yet.")
    await coordinator.locator("#hand-on select").select_option(label="Ana Petrović")
    await coordinator.locator("#hand-on button").click()
    await expect(coordinator.locator("#holder-now")).to_have_text("Ana Petrović holds this task.")

    # Ana sees it as hers, and hands it on to Marko
    page = await log_in(browser, live, ana.email)
    await page.click("#filter_mine")
    await expect(page.locator(row)).to_contain_text("Ana Petrović")
    await page.goto(task_url)
    await expect(page.locator("#holder-now")).to_have_text("You hold this task.")
    await page.locator("#hand-on select").select_option(label="Marko Jovanović")
    await page.locator("#hand-on button").click()
    await expect(page.locator("#holder-now")).to_have_text("Marko Jovanović holds this task.")
    await page.goto(live.url + "/inbox?holder=me")
    await expect(page.locator(row)).to_have_count(0)

    # Marko names Jelena his substitute from today for three days
    page = await log_in(browser, live, marko.email)
    await page.click("#filter_mine")
    await expect(page.locator(row)).to_have_count(1)
    await page.click("text=My settings")
    today = datetime.now(UTC).date()
    await page.locator("#substitute-user").select_option(label="Jelena Ilić")
    await page.fill("#substitute-from", (today + timedelta(days=2)).isoformat())
    await page.fill("#substitute-until", today.isoformat())  # before the first day: refused, naming the field
    await page.click("#save-substitute")
    await expect(page.locator("#substitute-until-error")).to_be_visible()
    await page.fill("#substitute-from", today.isoformat())
    await page.fill("#substitute-until", (today + timedelta(days=2)).isoformat())
    await page.click("#save-substitute")
    await expect(page.locator("#substitute-now")).to_contain_text("Jelena Ilić stands in for you from")
    await expect(page.locator("#substitute-now")).to_contain_text("They stand in today.")

    # mail about the task during the absence: Marko and Jelena, nobody else of Caritas
    extended = await app.change_project(lead, pid, kind="extend_deadline", reason="holidays", task_id=tid,
                                        due_at=f"{today.year + 1}-01-31T12:00:00Z")

    # Jelena sees it among her tasks, for Marko, and completes it
    page = await log_in(browser, live, jelena.email)
    await page.click("#filter_mine")
    await expect(page.locator(row)).to_contain_text("for Marko Jovanović")
    await page.goto(task_url)
    await expect(page.locator("#holder")).to_contain_text("You stand in for Marko Jovanović")
    await page.fill("#f-contribution", "Counselling staff")
    await page.fill("#f-contact_person", "Marko Jovanović")
    await page.click("button[type=submit]")
    await expect(page.locator("p.notice")).to_have_text("The task is completed.")

    completion = [e for e in app.list_events(lead, pid) if e["task_id"] == tid][-1]
    assert completion["type"] == "StepCompleted" and completion["actor"]["user"] == jelena.user_id
    assert completion["data"]["on_behalf_of_user"] == marko.user_id
    assert app.verify(lead, pid)["ok"]
    held = [e for e in app.list_events(lead, pid) if e["type"] == "TaskHeld"]
    assert [e["data"]["holder"] for e in held] == [ana.user_id, marko.user_id]

    # the trail's page names the people of each hand-over, never their ids
    await coordinator.goto(f"{live.url}/projects/{pid}/audit?type=TaskHeld&lang=en")
    trail = coordinator.locator("main")
    await expect(trail).to_contain_text("Now held by")
    await expect(trail).to_contain_text("Marko Jovanović")
    assert marko.user_id not in await trail.inner_text()

    # the mails, delivered over SMTP
    received = await deliver(live, sink, pid)
    by_seq: dict[int, set[str]] = {}
    for mail in list_mail(app.engine, project_id=pid):
        by_seq.setdefault(mail["seq"], set()).add(mail["to_address"])
    handed = {m["to"] for m in received if m["subject"].startswith("For you:")}
    assert handed == {ana.email, marko.email}  # each told when the task was given to them
    assert by_seq[extended["seq"]] == {marko.email, jelena.email}
    assert {m["to"] for m in received if m["subject"].startswith("New due date")} == {marko.email, jelena.email}
