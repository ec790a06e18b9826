"""Every page in every language, with no untranslated key; German and English throughout."""

from __future__ import annotations

import httpx
import pytest

from services.seed import demo_email
from tests.utils.app import PARTNERS, actor, play, start
from tests.web.conftest import Live, http_login
from web.i18n import LANGUAGES, MISSING, catalog, negotiate

MARK = MISSING.split("{}")[0]


def test_every_language_has_exactly_the_english_keys():
    for lang in LANGUAGES:
        assert set(catalog(lang)) == set(catalog("en")), lang
        assert all(text.strip() for text in catalog(lang).values()), lang


def test_language_follows_query_then_cookie_then_accept_language():
    assert negotiate(None, None, "sr-RS,sr;q=0.9,en;q=0.5") == "sr"
    assert negotiate(None, None, "fr-FR, mk;q=0.8, de;q=0.9") == "de"
    assert negotiate(None, "sq", "de") == "sq"
    assert negotiate("mk", "sq", "de") == "mk"
    assert negotiate(None, None, "fr") == "en"


@pytest.mark.parametrize("lang", list(LANGUAGES))
async def test_inbox_and_task_pages_render_with_no_missing_key(live: Live, lang: str):
    project = await start(live.coopflow)
    await play(live.coopflow, project["id"], loops=True, until_step="progress_report")
    tasks = live.coopflow.show_project(actor(live.coopflow, "stadt-dortmund"), project["id"])["tasks"]
    report = next(t for t in tasks if t["step"] == "progress_report" and t["assignee"] == PARTNERS[0])
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, demo_email(PARTNERS[0]))
        pages = {
            "inbox": await http.get("/inbox", params={"lang": lang}),
            "task": await http.get(f"/projects/{project['id']}/tasks/{report['id']}"),
            "invalid": await http.post(f"/projects/{project['id']}/tasks/{report['id']}", data={
                "csrf": _csrf((await http.get(f"/projects/{project['id']}/tasks/{report['id']}")).text),
                "period": "", "activities": "x", "people_reached": "-1"}),
            "project": await http.get(f"/projects/{project['id']}"),
            "projects": await http.get("/projects"),
        }
    assert pages["invalid"].status_code == 422
    for name, page in pages.items():
        assert page.status_code in (200, 422), (name, page.status_code)
        assert f'<html lang="{lang}">' in page.text, name
        missing = [line.strip() for line in page.text.splitlines() if MARK in line]
        assert not missing, (lang, name, missing[:5])
    if lang != "en":
        assert catalog(lang)["v_at_least"].split("{")[0].strip() in pages["invalid"].text


@pytest.mark.parametrize("lang", ["de", "en"])
async def test_coordinator_and_auditor_pages_in_german_and_english(live: Live, lang: str):
    project = await start(live.coopflow)
    await play(live.coopflow, project["id"], loops=False, until_step="draft_agreement")
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, demo_email("stadt-dortmund"))
        pages = [await http.get("/projects/new", params={"lang": lang}),
                 await http.get(f"/projects/{project['id']}/audit",
                                params={"verify": "1", "as_of": project["updated_at"]})]
    async with httpx.AsyncClient(base_url=live.url, headers={"Accept-Language": f"{lang};q=1"}) as http:
        pages.append(await http.get("/login"))
    for page in pages:
        assert page.status_code == 200 and f'<html lang="{lang}">' in page.text
        assert MARK not in page.text


def _csrf(html: str) -> str:
    import re

    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
