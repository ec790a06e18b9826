"""The auditor's landing page goes on from the kept check and says how far the last full check went, in the
reader's language (docs/verification.md)."""

from __future__ import annotations

import re

import httpx

from services.seed import demo_email
from store import iter_events
from tests.utils.app import actor, play, start
from tests.web.conftest import Live, http_login


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
            url: str | None = "/inbox"
            row = None
            while row is None and url:  # the latest changed first: other tests' projects may be "later"
                page = (await client.get(url)).text  # (those of the time-skipping server change in its future)
                row = re.search(rf'<tr data-project="{pid}".*?</tr>', page, re.S)
                projects = page.split('id="pages-projects"', 1)[1] if 'id="pages-projects"' in page else ""
                following = re.search(r'<a href="([^"]+)" rel="next">', projects)
                url = following.group(1).replace("&amp;", "&") if following else None
            assert row is not None, "the project is on a page of the landing page"
            assert f'data-verified-upto="{full["count"]}"' in row.group(0)
            assert words in row.group(0) and f"; {newer} " in row.group(0), row.group(0)
    assert app.verify(auditor, pid)["ok"]
    async with httpx.AsyncClient(base_url=live.url) as client:
        await http_login(client, demo_email("audit-office"), "en")
        row = re.search(rf'<tr data-project="{pid}".*?</tr>', (await client.get("/inbox")).text, re.S)
        assert row is not None and "checked in full: " in row.group(0) and "newer" not in row.group(0)
