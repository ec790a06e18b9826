"""The audit page in the reader's language: its headers, its data column as labelled values, and numbers
written as the language writes them (CLDR)."""

from __future__ import annotations

import re

import httpx

from services.seed import demo_email
from tests.utils.app import play, start
from tests.web.conftest import Live, http_login


async def audit_page(live: Live, project_id: str, lang: str, who: str = "audit-office") -> str:
    async with httpx.AsyncClient(base_url=live.url, cookies={"coopflow_lang": lang}) as http:
        await http_login(http, demo_email(who))
        page = await http.get(f"/projects/{project_id}/audit")
    assert page.status_code == 200
    return page.text


async def test_document_sizes_use_the_languages_decimal_separator(live: Live):
    """A document's size is "0,1 KB" in Serbian and German, "0.1 KB" in English (the separator from CLDR)."""
    app = live.coopflow
    project = await start(app)
    await play(app, project["id"], documents=True)
    sizes = {}
    for lang in ("en", "sr", "de", "mk", "sq"):
        text = await audit_page(live, project["id"], lang)
        sizes[lang] = set(re.findall(r"<small>\((\d+[.,]\d) KB\)</small>", text))
        assert sizes[lang], f"{lang}: no document size on the audit page"
    assert all("." in s for s in sizes["en"]), sizes
    for lang in ("sr", "de", "mk", "sq"):
        assert all("," in s and "." not in s for s in sizes[lang]), (lang, sizes)
    assert {s.replace(",", ".") for s in sizes["sr"]} == sizes["en"]
