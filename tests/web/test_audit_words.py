"""The audit page in the reader's language: its headers, its data column as labelled values, and numbers
written as the language writes them (CLDR)."""

from __future__ import annotations

import re

import httpx

from services.seed import demo_email
from tests.utils.app import PARTNERS, play, start
from tests.web.conftest import Live, http_login


async def audit_page(live: Live, project_id: str, lang: str, who: str = "audit-office") -> str:
    async with httpx.AsyncClient(base_url=live.url, cookies={"coopflow_lang": lang}) as http:
        await http_login(http, demo_email(who), lang=lang)
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


def data_cells(text: str) -> list[str]:
    return re.findall(r'<td class="data">(.*?)</td>', text, re.S)


async def test_the_audit_data_column_shows_labelled_values_in_the_readers_language(live: Live):
    """No JSON, no organisation ids, no ISO durations, no English headers: each value with its label."""
    app = live.coopflow
    project = await start(app, parameters={"report_count": 1, "report_every": "P1M"})
    await play(app, project["id"], documents=True)
    names = app.org_names()
    said = {"sr": ("Podaci", "Heš", "svakog meseca", "Dodeljeno"), "mk": ("Податоци", "Хеш", "секој месец", "Доделено")}
    for lang, (data, hash_, monthly, assigned) in said.items():
        text = await audit_page(live, project["id"], lang)
        head = text.split('<table class="events">')[1].split("</thead>")[0]
        assert f"<th>{data}</th>" in head and f"<th>{hash_}</th>" in head, head
        cells = data_cells(text)
        assert cells and not [c for c in cells if "{&#34;" in c or '{"' in c or "&#34;:" in c], cells[:3]
        joined = "\n".join(cells)
        assert "P1M" not in joined and monthly in joined.lower(), lang
        assert assigned in joined and names[PARTNERS[0]] in joined, lang
        assert not re.search(r">\s*(caritas-rs|stadt-dortmund|horizon-civitas-mk)\s*<", joined), lang
        assert "sealed:v1:" not in text
        for full in re.findall(r'<code title="([0-9a-f]{64})">([0-9a-f]+)…</code>', text):
            assert full[0].startswith(full[1])
