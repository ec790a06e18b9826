"""A task completed with the keyboard alone: Tab, Shift+Tab, Enter, Space, arrows and typing; no mouse, no
element.click(). Every stop on the way shows where the focus is."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from services.seed import demo_email
from tests.utils.app import LEAD, actor, start
from tests.web.conftest import Live

# keep the focus ring visible: :focus-visible gives links, buttons and fields a 3 px solid outline
RING = "() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth]; }"


async def focused(page: Page, selector: str) -> bool:
    return await page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector)


async def tab_to(page: Page, selector: str, *, back: bool = False, limit: int = 400) -> None:
    """Tab (or Shift+Tab) until ``selector`` has the focus, which must then be seen."""
    for _ in range(limit):
        if await focused(page, selector):
            assert await page.evaluate(RING) == ["solid", "3px"], f"no focus ring on {selector}"
            return
        await page.keyboard.press("Shift+Tab" if back else "Tab")
    raise AssertionError(f"the keyboard never reached {selector}")


async def skip_to_content(page: Page) -> None:
    """The first Tab on a page reaches the skip link, shown on the screen; Enter moves on to the content."""
    await page.keyboard.press("Tab")
    assert await focused(page, "a.skip"), "the skip link comes first"
    box = await page.locator("a.skip").bounding_box()
    assert box is not None and box["y"] >= 0, "the skip link shows when it has the focus"
    await page.keyboard.press("Enter")
    assert await focused(page, "main#content")


async def test_a_coordinator_completes_a_task_with_the_keyboard_alone(chromium: Browser, live: Live):
    app = live.coopflow
    project = await start(app, title="Keyboard only", template="return-referral", parameters={})
    task = next(t for t in app.show_project(actor(app, LEAD), project["id"])["tasks"] if t["status"] == "open")
    context = await chromium.new_context(viewport={"width": 1200, "height": 900}, locale="en-GB")
    try:
        page = await context.new_page()
        await page.goto(live.url + "/login")
        await tab_to(page, "input[name=email]")  # where the log-in page puts the focus (autofocus)
        await page.keyboard.type(demo_email(LEAD))
        await tab_to(page, "input[name=password]")
        await page.keyboard.type("coopflow-demo")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await expect(page.locator("html")).to_have_attribute("lang", "de")  # the coordinator's own language

        # the language by keyboard: the arrows only move the choice (nothing is sent), Enter applies it
        await tab_to(page, "select[name=lang]")
        await page.evaluate("""() => { window.sent = []; window.realSubmit = HTMLFormElement.prototype.submit;
            HTMLFormElement.prototype.submit = function () { window.sent.push(new FormData(this).get("lang")); }; }""")
        await page.keyboard.press("ArrowUp")  # Deutsch → English
        assert await page.evaluate("window.sent") == [], "an arrow key sent the form"
        await page.keyboard.press("Enter")
        assert await page.evaluate("window.sent") == ["en"]
        await page.evaluate("() => { HTMLFormElement.prototype.submit = window.realSubmit; }")  # the browser's own
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await expect(page.locator("html")).to_have_attribute("lang", "en")

        link = f"tr[data-project='{project['id']}'][data-task='{task['id']}'] a"
        await skip_to_content(page)
        await tab_to(page, link)
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await expect(page.locator("h1")).to_have_text("Record the consent")

        await skip_to_content(page)
        await tab_to(page, "#f-person_name")
        await page.keyboard.type("Ana Petrović")
        await tab_to(page, "#f-consent_on")  # past the date of birth and the consent box
        await page.keyboard.type("02022026")  # 2 February: the same whether the field reads dd/mm or mm/dd
        await tab_to(page, "form.card button[type=submit]")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")  # without the consent: refused, the error tied to its field
        consent = page.locator("#f-consent")
        await expect(consent).to_have_attribute("aria-invalid", "true")
        described = (await consent.get_attribute("aria-describedby") or "").split()
        assert "f-consent-error" in described
        await expect(page.locator("#f-consent-error")).to_have_text("is required")
        await expect(page.locator("#f-person_name")).to_have_value("Ana Petrović")  # nothing typed is lost
        await expect(page.locator("#f-consent_on")).to_have_value("2026-02-02")

        await tab_to(page, "form.card button[type=submit]")
        await tab_to(page, "#f-consent", back=True)
        await page.keyboard.press("Space")
        await expect(consent).to_be_checked()
        await tab_to(page, "form.card button[type=submit]")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await expect(page.locator("p.notice")).to_have_text("The task is completed.")
        await expect(page.locator(link)).to_have_count(0)
    finally:
        await context.close()
    done = next(t for t in app.show_project(actor(app, LEAD), project["id"])["tasks"] if t["id"] == task["id"])
    assert done["status"] == "completed"
