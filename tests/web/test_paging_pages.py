"""The pages' lists a page at a time: Next and Previous links carry a cursor, every item shows once and in
order, the words are the reader's language; a project with a long trail has a page of bounded size."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.engine import Engine

from services.app import Coopflow
from tests.utils.paging import PASSWORD, Org, new_org, store_project
from web.app import create_app

NEXT = re.compile(r'<a href="([^"]+)" rel="next">([^<]*)</a>')
PREV = re.compile(r'<a href="([^"]+)" rel="prev">([^<]*)</a>')
WORDS = {"en": ("Next", "Previous", "Older events"), "de": ("Weiter", "Zurück", "Ältere Ereignisse"),
         "sr": ("Sledeća", "Prethodna", "Stariji događaji"), "mk": ("Следна", "Претходна", "Постари настани"),
         "sq": ("Faqja tjetër", "Faqja e mëparshme", "Ngjarje më të vjetra")}


@pytest.fixture
def web(sqlite_engine: Engine) -> httpx.AsyncClient:
    """The pages in-process on the application layer without Temporal: these pages only read the store."""
    coopflow = Coopflow(engine=sqlite_engine, client=None, task_queue="unused")  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(coopflow=coopflow, secret="s")),
                             base_url="http://test")


@pytest.fixture
async def signed_in(web: httpx.AsyncClient) -> AsyncIterator[object]:
    async def login(org: Org) -> httpx.AsyncClient:
        web.cookies.clear()
        page = await web.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        done = await web.post("/login", data={"email": org.email, "password": PASSWORD, "csrf": token,
                                              "next": "/inbox"})
        assert done.status_code == 303, done.text
        return web

    yield login
    await web.aclose()


async def every_page(web: httpx.AsyncClient, url: str, row: re.Pattern[str]) -> tuple[list[str], list[str]]:
    """Follow the Next links from ``url``: the rows of every page, and the pages."""
    rows, pages, next_url = [], [], url
    while next_url:
        page = await web.get(next_url)
        assert page.status_code == 200, page.text[:500]
        rows += row.findall(page.text)
        pages.append(page.text)
        found = NEXT.search(page.text)
        next_url = html.unescape(found.group(1)) if found else ""
        assert len(pages) < 100
    return rows, pages


async def test_the_project_list_pages_with_next_and_previous(signed_in, sqlite_engine: Engine, monkeypatch):
    monkeypatch.setattr("web.pages_projects.PROJECTS_PAGE", 3)
    lead, partner = new_org(sqlite_engine, "coordinator"), new_org(sqlite_engine, "partner")
    made = [store_project(sqlite_engine, lead=lead.id, partners=[partner.id], minutes=m)[0]
            for m in (2, 0, 1, 1, 4, 3, 6)]
    expected = [p.id for p in sorted(made, key=lambda p: (p.started_at, p.id))]
    web = await signed_in(lead)
    rows, pages = await every_page(web, "/projects", re.compile(r'<td><a href="/projects/([^"]+)">'))
    assert rows == expected and len(pages) == 3  # each once, the earliest started first
    assert PREV.search(pages[0]) is None and PREV.search(pages[1]) and PREV.search(pages[2])
    assert NEXT.search(pages[0]).group(2).startswith("Next")  # type: ignore[union-attr]
    back = await web.get(html.unescape(PREV.search(pages[2]).group(1)))  # type: ignore[union-attr]
    assert re.findall(r'<td><a href="/projects/([^"]+)">', back.text) == expected[3:6]
    for lang, (after, before, _) in WORDS.items():
        second = await web.get(html.unescape(NEXT.search(pages[0]).group(1)) + f"&lang={lang}")  # type: ignore[union-attr]
        assert f'<html lang="{lang}">' in second.text
        assert NEXT.search(second.text).group(2) == f"{after} →"  # type: ignore[union-attr]
        assert PREV.search(second.text).group(2) == f"← {before}"  # type: ignore[union-attr]
    broken = await web.get("/projects?cursor=nonsense")  # an edited link: the first page, not an error
    assert broken.status_code == 200 and re.findall(r'<td><a href="/projects/([^"]+)">', broken.text) == expected[:3]


async def test_a_partners_inbox_pages_its_open_tasks(signed_in, sqlite_engine: Engine, monkeypatch):
    monkeypatch.setattr("web.pages.INBOX_PAGE", 2)
    lead, partner = new_org(sqlite_engine, "coordinator"), new_org(sqlite_engine, "partner")
    for minutes in range(5):
        store_project(sqlite_engine, lead=lead.id, partners=[partner.id], minutes=minutes * 60,
                      until_step="letter_of_intent")
    store_project(sqlite_engine, lead=lead.id, partners=[partner.id], to_end=True)  # nothing open any more
    web = await signed_in(partner)
    rows, pages = await every_page(web, "/inbox", re.compile(r'data-project="([^"]+)" data-task="([^"]+)"'))
    assert len(pages) == 3 and len(rows) == 5 == len(set(rows))
    assert all(f"Paging {pid}" in "".join(pages) for pid, _ in rows)  # each with its project's title


async def test_the_auditors_landing_page_pages_every_project_once(signed_in, sqlite_engine: Engine, monkeypatch):
    monkeypatch.setattr("web.pages.OVERVIEW_PAGE", 4)
    lead, partner = new_org(sqlite_engine, "coordinator"), new_org(sqlite_engine, "partner")
    for minutes in range(5):
        store_project(sqlite_engine, lead=lead.id, partners=[partner.id], minutes=minutes)
    auditor = new_org(sqlite_engine, "auditor")
    web = await signed_in(auditor)
    rows, pages = await every_page(web, "/inbox", re.compile(r'<tr data-project="([^"]+)" class'))
    with sqlite_engine.connect() as conn:
        from sqlalchemy import text
        latest = [r[0] for r in conn.execute(text("SELECT id FROM project ORDER BY updated_at DESC, id DESC"))]
    assert rows == latest  # every project once, the latest changed first
    assert all(len(re.findall(r'<tr data-project="[^"]+" class', p)) <= 4 for p in pages)


async def test_a_long_trails_project_page_shows_its_latest_events_and_pages_the_older(
        signed_in, sqlite_engine: Engine):
    lead = new_org(sqlite_engine, "coordinator")
    partners = [new_org(sqlite_engine, "partner").id for _ in range(10)]
    state, events = store_project(sqlite_engine, lead=lead.id, partners=partners, report_count=20, to_end=True)
    assert len(events) > 900
    web = await signed_in(lead)
    page = await web.get(f"/projects/{state.id}")
    assert page.status_code == 200
    shown = [int(s) for s in re.findall(r'<tr data-type="[^"]+"><td>(\d+)</td>', page.text)]
    assert shown == list(range(len(events), len(events) - 50, -1))  # the latest 50, the newest first
    assert len(page.content) < 100 * 1024
    older = NEXT.search(page.text)
    assert older is not None and older.group(2) == "Older events →"
    second = await web.get(html.unescape(older.group(1)))
    assert [int(s) for s in re.findall(r'<tr data-type="[^"]+"><td>(\d+)</td>', second.text)] == list(
        range(len(events) - 50, len(events) - 100, -1))
    assert "Newer events" in second.text
    rows, _ = await every_page(web, f"/projects/{state.id}", re.compile(r'<tr data-type="[^"]+"><td>(\d+)</td>'))
    assert [int(s) for s in rows] == list(range(len(events), 0, -1))  # the whole timeline, each event once
    audit, pages = await every_page(web, f"/projects/{state.id}/audit?type=StepCompleted",
                                    re.compile(r'<tr data-type="([^"]+)"><td>(\d+)</td>'))
    assert [int(seq) for _, seq in audit] == [e.seq for e in events if e.type == "StepCompleted"]
    assert {t for t, _ in audit} == {"StepCompleted"} and len(pages) > 1  # the filter stays on every page
    for lang, (_, _, words) in WORDS.items():
        assert f"{words} →" in (await web.get(f"/projects/{state.id}", params={"lang": lang})).text
