"""`/dev/mail` (the `coopflow dev` mail viewer) reads like mail: links are links, long lines wrap, the page fits
a laptop and a phone without scrolling sideways."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import AsyncIterator
from email.message import EmailMessage

import pytest
from playwright.async_api import Browser

from services.devstack import MailSink, free_port
from tests.web.conftest import Live
from web.app import create_app
from web.server import serve

LINK = "http://127.0.0.1:8000/projects/p-0c9e1f0b7a3d4e2f9a8b7c6d5e4f3a2b/tasks/t-7f6e5d4c3b2a19087f6e5d4c3b2a1908"
BODY = ("Caritas Srbija has completed the task „Letter of intent“ in the project "
        "„Return and reintegration 2026–2028 — a long title that goes on and on without a single break“, "
        "and the next step, the review by Horizon, is now open for you.\n\n"
        f"Open it: {LINK}\n\n" + "=" * 240 + "\n")


@pytest.fixture
async def dev_url(live: Live, sink: MailSink) -> AsyncIterator[str]:
    """The web app as `coopflow dev` serves it: with the mail sink's viewer."""
    port, stop = free_port(), asyncio.Event()
    server = asyncio.create_task(serve(create_app(coopflow=live.coopflow, secret="dev-mail-test", mail_sink=sink),
                                       "127.0.0.1", port, stop))
    await asyncio.sleep(0.5)
    yield f"http://127.0.0.1:{port}"
    stop.set()
    await server


def send(sink: MailSink) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "coopflow@localhost", "lead@example.org", "Your turn"
    message["Content-Language"] = "en"
    message.set_content(BODY)
    with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
        smtp.send_message(message)


@pytest.mark.parametrize("width", [1280, 375])
async def test_dev_mail_shows_links_as_links_and_fits_the_screen(chromium: Browser, dev_url: str, sink: MailSink,
                                                                 width: int):
    await asyncio.to_thread(send, sink)
    context = await chromium.new_context(viewport={"width": width, "height": 800})
    try:
        page = await context.new_page()
        await page.goto(dev_url + "/dev/mail")
        scroll_width = await page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"/dev/mail is {scroll_width} px wide at a {width} px window"
        link = page.locator(f'article.mail a[href="{LINK}"]')
        assert await link.count() == 1
        assert await link.inner_text() == LINK
    finally:
        await context.close()
