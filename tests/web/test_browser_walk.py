"""The whole lifecycle in a real browser (Debian's Chromium, driven by Playwright): every task completed
through the pages by the demo users. A file of its own: the longest browser test, so that the test run
spreads it and the other browser tests over its processes."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.utils.app import PARTNERS, actor
from tests.utils.scenario import next_move
from tests.web.conftest import Live, Profiles
from tests.web.test_browser import login

pytestmark = pytest.mark.long(35)  # seconds on 2 cores: started first (tests/conftest.py)


async def fill_and_submit(page: Page, data: dict, outcome: str | None) -> None:
    for name, value in data.items():
        selector = f"#f-{name}"
        if isinstance(value, bool):
            if value:
                await page.check(selector)
        elif isinstance(value, list):
            joined = ", ".join(value) if name == "languages" else "\n".join(value)
            await page.fill(selector, joined)
        else:
            await page.fill(selector, str(value))
    if outcome is None:
        await page.click("form.card button[type=submit]")
    else:
        await page.click(f"button[name=outcome][value={outcome}]")
    await expect(page.locator("p.notice")).to_be_visible()


async def test_the_demo_users_take_a_project_from_start_to_end_in_the_browser(browser: Profiles, live: Live):
    """Every task of the whole lifecycle, with every loop-back, completed through the pages."""
    coordinator = await login(browser, live, "stadt-dortmund")
    await coordinator.get_by_role("link", name="New project", exact=True).click()
    await coordinator.fill("#f-title", "Whole lifecycle in the browser")
    for org in PARTNERS:
        await coordinator.check(f"input[name=partners][value={org}]")
    await coordinator.fill("#f-report_count", "1")
    await coordinator.click("form.card button[type=submit]")
    project_id = coordinator.url.rsplit("/", 1)[-1]
    pages = {"stadt-dortmund": coordinator}
    for org in [*PARTNERS, "audit-office"]:
        pages[org] = await login(browser, live, org)
    reader = actor(live.coopflow, "stadt-dortmund")
    completed = 0
    while (move := next_move(live.coopflow.show_project(reader, project_id)["tasks"], PARTNERS[0])) is not None:
        task, data, outcome = move
        page = pages["audit-office" if task["assignee"] == "auditor" else task["assignee"]]
        await page.goto(f"{live.url}/inbox")
        await page.click(f"tr[data-project='{project_id}'][data-task='{task['id']}'] a >> nth=0")
        await fill_and_submit(page, data, outcome)
        completed += 1
    final = live.coopflow.show_project(reader, project_id)
    assert final["status"] == "completed" and completed > 40
    auditor = pages["audit-office"]
    await auditor.goto(f"{live.url}/projects/{project_id}/audit?verify=1")
    await expect(auditor.locator("#verify-result")).to_contain_text("The chain is unbroken")
