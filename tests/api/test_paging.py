"""Every list of the API a page at a time: ``?limit=`` and ``?cursor=``, the next page's URL in the ``Link``
header, every item once and in order, and a cursor the list did not give out refused (422, named)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from services.app import Coopflow
from tests.api.conftest import auth
from tests.utils.paging import new_org, store_project
from web.app import create_app

LINK = re.compile(r'<([^>]+)>; rel="(next|prev)"')


@pytest.fixture
async def api(engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    """The API in-process on the application layer without Temporal: these lists only read the store."""
    coopflow = Coopflow(engine=engine, client=None, task_queue="unused")  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(coopflow=coopflow, secret="s")),
                                 base_url="http://test") as client:
        yield client


def links(answer: httpx.Response) -> dict[str, str]:
    return {rel: url for url, rel in LINK.findall(answer.headers.get("link", ""))}


async def every_page(api: httpx.AsyncClient, url: str, token: str) -> tuple[list[Any], list[httpx.Response]]:
    """Follow the ``Link: rel="next"`` URLs from ``url`` to the end: the items of every page, and the answers."""
    items, answers = [], []
    next_url: str | None = url
    while next_url is not None:
        answer = await api.get(next_url, headers=auth(token))
        assert answer.status_code == 200, answer.text
        assert isinstance(answer.json(), list)  # the list it always was
        items += answer.json()
        answers.append(answer)
        next_url = links(answer).get("next")
        assert (answer.headers.get("x-next-cursor") is None) == (next_url is None)
        assert len(answers) < 50
    return items, answers


async def test_projects_page_by_page_each_once_in_order(api: httpx.AsyncClient, engine: Engine):
    lead, partner = new_org(engine, "coordinator"), new_org(engine, "partner")
    # two started at the same minute: the id orders them, and neither is lost at a page's edge
    made = [store_project(engine, lead=lead.id, partners=[partner.id], minutes=m)[0] for m in (3, 1, 2, 2, 0, 5, 4)]
    expected = [p.id for p in sorted(made, key=lambda p: (p.started_at, p.id))]
    items, answers = await every_page(api, "/api/projects?limit=3", lead.token)
    assert [p["id"] for p in items] == expected  # every project once, the earliest started first
    assert [len(a.json()) for a in answers] == [3, 3, 1]
    assert "prev" not in links(answers[0]) and "prev" in links(answers[1])
    assert "cursor=" in links(answers[0])["next"] and "limit=3" in links(answers[0])["next"]
    back = await api.get(links(answers[2])["prev"], headers=auth(lead.token))
    assert [p["id"] for p in back.json()] == expected[3:6]  # the page before is the one before
    seen, _ = await every_page(api, "/api/projects?limit=2", partner.token)  # a partner: the projects it is in
    assert [p["id"] for p in seen] == expected
    whole = await api.get("/api/projects", headers=auth(lead.token))  # no limit: the first 100
    assert [p["id"] for p in whole.json()] == expected and "link" not in whole.headers


async def test_inbox_tasks_page_by_page_the_earliest_due_first(api: httpx.AsyncClient, engine: Engine):
    lead, partner, other = (new_org(engine, r) for r in ("coordinator", "partner", "partner"))
    for minutes in range(5):  # a letter of intent owed by each partner in each project
        store_project(engine, lead=lead.id, partners=[partner.id, other.id], minutes=minutes * 60,
                      until_step="letter_of_intent")
    ended = store_project(engine, lead=lead.id, partners=[partner.id], to_end=True)[0]
    assert ended.status == "completed"  # its closed tasks are no one's inbox
    items, answers = await every_page(api, "/api/tasks?limit=2", partner.token)
    assert len(answers) == 3 and len(items) == 5
    assert all(t["assignee"] == partner.id and t["status"] == "open" for t in items)
    assert [t["due_at"] for t in items] == sorted(t["due_at"] for t in items)
    assert len({(t["project_id"], t["id"]) for t in items}) == 5


async def test_a_trails_events_page_by_page_with_their_filters(api: httpx.AsyncClient, engine: Engine):
    lead, partner = new_org(engine, "coordinator"), new_org(engine, "partner")
    state, events = store_project(engine, lead=lead.id, partners=[partner.id], to_end=True)
    items, answers = await every_page(api, f"/api/projects/{state.id}/events?limit=7", lead.token)
    assert [e["seq"] for e in items] == list(range(1, len(events) + 1))  # each once, in seq order
    assert [e["hash"] for e in items] == [e.hash for e in events]
    assert len(answers) == -(-len(events) // 7)
    done, answers = await every_page(api, f"/api/projects/{state.id}/events?type=StepCompleted&limit=4",
                                     lead.token)
    assert "type=StepCompleted" in links(answers[0])["next"]  # the filter stays on every page
    assert [e["seq"] for e in done] == [e.seq for e in events if e.type == "StepCompleted"]


@pytest.mark.parametrize(("query", "field"), [
    ("cursor=not-a-cursor", "cursor"), ("cursor=WyJhIiwxXQ", "cursor"),  # an events cursor: [a, 1]
    ("cursor=" + "A" * 1001, "cursor"), ("cursor=", "cursor"), ("limit=0", "limit"), ("limit=501", "limit"),
    ("limit=ten", "limit")])
async def test_a_bad_cursor_or_limit_is_refused_naming_it(api: httpx.AsyncClient, engine: Engine, query: str,
                                                         field: str):
    lead = new_org(engine, "coordinator")
    for url in ("/api/projects", "/api/tasks"):
        answer = await api.get(f"{url}?{query}", headers=auth(lead.token))
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["code"] == "invalid_request"
        assert field in answer.json()["error"]["details"]
