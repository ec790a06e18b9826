"""The pictures in a real browser (Chromium): the coordinator's chart on the project list and the timeline on a
project's page render, carry their text alternatives, and at 375 px they fit the screen (no sideways scroll).
With ``COOPFLOW_PICTURE_SHOTS=<folder>`` the test also saves the two pictures there (the README's images)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from playwright.async_api import Page, expect

from services.seed import DEMO_PASSWORD, demo_email
from tests.utils.pictures import realistic_project, store_project
from tests.web.conftest import Live, Profiles

FITS = """el => { const box = el.getBoundingClientRect();
                  return {left: box.left, right: box.right, width: box.width, screen: window.innerWidth,
                          scrolls: el.scrollWidth > el.clientWidth + 1}; }"""


async def sign_in(page: Page, live: Live, org: str) -> None:
    await page.goto(live.url + "/login?lang=en")
    await page.fill("input[name=email]", demo_email(org))
    await page.fill("input[name=password]", DEMO_PASSWORD)
    await page.click("button[type=submit]")
    await expect(page.locator("h1")).to_be_visible()
    await page.goto(live.url + "/inbox?lang=en")  # the user keeps it until the test ends (conftest resets it)
    await expect(page.locator("html")).to_have_attribute("lang", "en")


async def fits(page: Page, selector: str) -> None:
    for box in await page.locator(selector).evaluate_all(f"els => els.map({FITS})"):
        assert box["left"] >= 0 and box["right"] <= box["screen"] + 0.5, (selector, box)
        assert box["width"] > 0 and not box["scrolls"], (selector, box)


async def test_the_pictures_render_for_a_coordinator_and_fit_a_phone(browser: Profiles, live: Live, tmp_path: Path):
    now = datetime.now(UTC)
    project_id = store_project(live.coopflow.engine, realistic_project(now, title="Safe returns pilot"))
    for days, reports in ((130, 3), (330, 8)):  # more of the lead's projects: the chart adds them up
        store_project(live.coopflow.engine, realistic_project(now, days=days, reports=reports))
    page = await browser.new_page()
    await sign_in(page, live, "stadt-dortmund")

    await page.goto(live.url + "/projects")
    chart = page.locator("section#open-work svg[role=img]")
    await expect(chart).to_be_visible()
    await expect(chart.locator("title")).to_have_text(
        "Open and overdue tasks per organisation in the active projects you lead")
    assert "Caritas Srbija" in await chart.locator("desc").text_content()  # type: ignore[operator]
    await page.click("section#open-work summary")
    orgs = await page.locator("section#open-work tr[data-org-row] th").all_text_contents()
    assert "Caritas Srbija" in orgs and "Different and Equal" in orgs
    await shoot(page, "section#open-work figure", tmp_path, "dashboard")
    await page.screenshot(path=str(tmp_path / "projects.png"), full_page=True)

    await page.goto(f"{live.url}/projects/{project_id}")
    timeline = page.locator("section#project-timeline svg[role=img]")
    await expect(timeline).to_be_visible()
    await expect(timeline.locator("title")).to_have_text("Timeline of the project's phases, tasks and changes")
    texts = await timeline.locator("text").all_text_contents()
    assert "Letter of intent · Caritas Srbija" in texts and "Changes to the project" in texts
    size = await timeline.bounding_box()
    assert size is not None and size["height"] > 300
    await page.click("section#project-timeline summary")
    await expect(page.locator("section#project-timeline table.picture-table").first).to_be_visible()
    changes = await page.locator("section#project-timeline table.picture-table").nth(1).inner_text()
    assert "Partner withdrawn" in changes and "Due date extended" in changes
    await shoot(page, "section#project-timeline figure", tmp_path, "timeline")
    await page.screenshot(path=str(tmp_path / "project.png"), full_page=True)

    context = await browser.chromium.new_context(viewport={"width": 375, "height": 667}, locale="en-GB")
    browser.contexts.append(context)
    phone = await context.new_page()
    await sign_in(phone, live, "stadt-dortmund")
    for path in ("/projects", f"/projects/{project_id}"):
        await phone.goto(live.url + path)
        await phone.locator("section.picture summary").first.click()
        await fits(phone, "section.picture")
        await fits(phone, "section.picture svg")
        await fits(phone, "section.picture figure")
        await phone.locator("section.picture").screenshot(path=str(tmp_path / f"phone-{path.count('/')}.png"))
        widths = await phone.evaluate("""() => { const page = document.documentElement, was = page.scrollWidth;
            document.querySelectorAll('section.picture').forEach(s => s.remove());
            return [was, page.scrollWidth]; }""")
        assert widths[0] == widths[1], f"{path}: the pictures widen the page from {widths[1]} to {widths[0]} px"


async def shoot(page: Page, selector: str, tmp_path: Path, name: str) -> None:
    folder = Path(os.environ.get("COOPFLOW_PICTURE_SHOTS", tmp_path))
    await page.locator(selector).screenshot(path=str(folder / f"{name}.png"))
