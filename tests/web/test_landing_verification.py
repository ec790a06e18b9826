"""The auditor's landing page goes on from the kept check and says how far the last full check went, in the
reader's language (docs/verification.md)."""

from __future__ import annotations

import re

import httpx

from services.seed import demo_email
from store import iter_events
from tests.utils.app import actor, play, start
from tests.web.conftest import Live, http_login


async def landing_row(client: httpx.AsyncClient, pid: str) -> re.Match[str] | None:
    """The project's row on the auditor's landing page, following its Next links: the latest changed come
    first, and other tests' projects may be later (those of the time-skipping server change in its future)."""
    url: str | None = "/inbox"
    while url:
        page = (await client.get(url)).text
        row = re.search(rf'<tr data-project="{pid}".*?</tr>', page, re.S)
        if row is not None:
            return row
        projects = page.split('id="pages-projects"', 1)[1] if 'id="pages-projects"' in page else ""
        following = re.search(r'<a href="([^"]+)" rel="next">', projects)
        url = following.group(1).replace("&amp;", "&") if following else None
    return None


async def test_the_landing_page_says_how_far_the_last_full_check_went(live: Live):
    app = live.coopflow
    auditor = actor(app, "auditor")
    pid = (await start(app))["id"]
    full = app.verify(auditor, pid)  # a full check keeps what it found
    assert full["ok"]
    await play(app, pid, until_step="application_submitted")  # the trail grows after it
    count = len(list(iter_events(app.engine, pid)))
    newer = count - full["count"]
    assert newer > 1
    for lang, words in [("en", f"checked in full up to event {full['count']}"),
                        ("de", f"vollständig geprüft bis Ereignis {full['count']}"),
                        ("sr", f"potpuno provereno do događaja {full['count']}")]:
        async with httpx.AsyncClient(base_url=live.url) as client:
            await http_login(client, demo_email("audit-office"), lang)
            row = await landing_row(client, pid)
            assert row is not None, "the project is on a page of the landing page"
            assert f'data-verified-upto="{full["count"]}"' in row.group(0)
            assert words in row.group(0) and f"; {newer} " in row.group(0), row.group(0)
    assert app.verify(auditor, pid)["ok"]
    async with httpx.AsyncClient(base_url=live.url) as client:
        await http_login(client, demo_email("audit-office"), "en")
        row = await landing_row(client, pid)
        assert row is not None and "checked in full: " in row.group(0) and "newer" not in row.group(0)
