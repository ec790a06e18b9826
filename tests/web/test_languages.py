"""Every page in every language, with no untranslated key; German and English throughout."""

from __future__ import annotations

import httpx
import pytest

from services.seed import demo_email
from tests.utils.app import PARTNERS, actor, play, start
from tests.web.conftest import Live, http_login
from web.i18n import LANGUAGES, MISSING, PLURAL_ONLY, Translator, catalog, negotiate

MARK = MISSING.split("{}")[0]


def test_every_language_has_exactly_the_english_keys():
    for lang in LANGUAGES:  # and the plural forms English has not (Serbian's "few")
        assert {k for k in catalog(lang) if not k.endswith(PLURAL_ONLY)} == set(catalog("en")), lang
        assert all(text.strip() for text in catalog(lang).values()), lang


@pytest.mark.parametrize(("lang", "n", "said"), [
    ("sr", 1, "1 godina"), ("sr", 3, "3 godine"), ("sr", 5, "5 godina"), ("sr", 12, "12 godina"),
    ("sr", 22, "22 godine"), ("sr", 21, "21 godina"), ("mk", 1, "1 година"), ("mk", 3, "3 години"),
    ("sq", 1, "1 vit"), ("sq", 3, "3 vjet"), ("de", 1, "1 Jahr"), ("de", 3, "3 Jahre"), ("en", 3, "3 years")])
def test_plural_forms_follow_each_language(lang: str, n: int, said: str):
    assert Translator(lang).plural("years", n) == said


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


def visible_text(html: str) -> str:
    """What a reader sees: no tags, no attributes, no <code> (hashes and raw data for auditors)."""
    import html as html_lib
    import re

    html = re.sub(r"<(script|style|code)\b.*?</\1>", " ", html, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("lang", list(LANGUAGES))
async def test_no_page_shows_a_raw_key_an_id_or_an_iso_duration(live: Live, lang: str):
    import re

    from domain import EVENT_TYPES
    from templates import TemplateRegistry

    app = live.coopflow
    project = await start(app, parameters={"report_count": 1, "report_every": "P1M"})
    pid = project["id"]
    await play(app, pid, loops=True, until_step="progress_report")
    lead = actor(app, "stadt-dortmund")
    tasks = app.show_project(lead, pid)["tasks"]
    report = next(t for t in tasks if t["step"] == "progress_report" and t["assignee"] == PARTNERS[0])
    review = next(t for t in tasks if t["step"] == "review_agreement" and t["round"] == 2)
    await app.change_project(lead, pid, kind="extend_deadline", reason="x", task_id=report["id"],
                             due_at=report["due_at"][:4] + "-12-31T00:00:00Z" if report["due_at"][5:7] != "12"
                             else str(int(report["due_at"][:4]) + 1) + "-01-31T00:00:00Z")
    template = TemplateRegistry().latest("cooperation")
    # keys that are not also words (a title may say "pilot"): with "_", "-" or inner capitals
    keys = {k for k in {*EVENT_TYPES, *(p.key for p in template.phases), *(s.key for _, s in template.steps()),
                        *PARTNERS, "stadt-dortmund", "audit-office"} if re.search(r"[_-]|[a-z][A-Z]", k)}
    pages = {}
    for org in ("stadt-dortmund", PARTNERS[0], "audit-office"):
        async with httpx.AsyncClient(base_url=live.url, cookies={"coopflow_lang": lang}) as http:
            await http_login(http, demo_email(org), lang)
            paths = ["/inbox", "/projects", f"/projects/{pid}", f"/projects/{pid}/audit?verify=1",
                     f"/projects/{pid}/tasks/{report['id']}", f"/projects/{pid}/tasks/{review['id']}"]
            if org == "stadt-dortmund":
                paths.append("/projects/new")
            for path in paths:
                pages[(org, path)] = await http.get(path)
    for (org, path), page in pages.items():
        assert page.status_code == 200, (org, path, page.status_code)
        text = visible_text(page.text)
        raw = sorted({k for k in keys if re.search(rf"(?<![\w-]){re.escape(k)}(?![\w-])", text)})
        durations = re.findall(r"\bP(?:T\d+[HMS]|\d+[YMWD])\b", text)
        assert not raw and not durations and MARK not in text, (lang, org, path, raw, durations)
