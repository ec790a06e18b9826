"""Input too large for Temporal is refused before it can hurt; input just within the limits never wedges."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from domain.limits import MAX_COMPLETION_BYTES, MAX_TEXT_CHARS
from services.app import Coopflow
from store import accounts
from tests.utils.app import LEAD, PARTNERS, actor, start
from tests.utils.scenario import SAMPLE_DATA, next_move
from tests.web.conftest import http_login
from web.app import create_app


@pytest.fixture
async def http(app: Coopflow) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(coopflow=app, secret="s")),
                                 base_url="http://test") as client:
        yield client


async def footprint(app: Coopflow, project_id: str) -> tuple[int, int]:
    history = await app.client.get_workflow_handle(f"project-{project_id}").fetch_history()
    return len(history.events), len(list(app.list_events(actor(app, "auditor"), project_id)))


async def test_the_api_refuses_bodies_and_fields_that_are_too_large(app: Coopflow, http: httpx.AsyncClient):
    project = await start(app)
    pid, before = project["id"], await footprint(app, project["id"])
    token = accounts.rotate_token(app.engine, "stadt@demo.coopflow.example")
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/projects/{pid}/tasks/t1/complete"

    concept = SAMPLE_DATA["concept_note"]
    huge = await http.post(url, headers=headers, json={"data": {**concept, "summary": "x" * 3_000_000}})
    assert huge.status_code == 413
    assert huge.json()["error"]["code"] == "payload_too_large" and "1024 KB" in huge.json()["error"]["message"]

    long = await http.post(url, headers=headers, json={"data": {**concept, "summary": "x" * 900_000}})
    assert long.status_code == 422 and long.json()["error"]["code"] == "invalid_data"
    assert long.json()["error"]["details"] == {"summary": f"is too long: at most {MAX_TEXT_CHARS} characters "
                                               "(this has 900000)"}
    wide = {**SAMPLE_DATA["concept_note"], "summary": "ж" * 19_000, "objectives": "ж" * 19_000}
    assert (await http.post(url, headers=headers, json={"data": wide})).json()["error"]["details"] == {
        "data": f"is too large: at most {MAX_COMPLETION_BYTES // 1024} KB in all"}
    nul = await http.post(url, headers=headers, json={"data": {**SAMPLE_DATA["concept_note"], "summary": "a\u0000b"}})
    assert nul.json()["error"]["details"] == {"summary": "must not contain control characters"}
    assert await footprint(app, pid) == before  # nothing reached Temporal or the store

    done = await http.post(url, headers=headers, json={"data": SAMPLE_DATA["concept_note"]})
    assert done.status_code == 200 and done.json()["status"] == "completed"


def as_large_as_allowed(app: Coopflow, task: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with every text field as long as one completion may hold, in two-byte letters."""
    texts = [f["name"] for f in task["form"] if f["type"] == "text"]
    if not texts:
        return data
    each = min(MAX_TEXT_CHARS, (MAX_COMPLETION_BYTES - 2_000) // 2 // len(texts))
    return {**data, **{name: "ж" * each for name in texts}}


async def test_a_whole_lifecycle_of_completions_as_large_as_allowed_never_wedges(app: Coopflow):
    """Every completion at the size limit, letters and reports in parallel, several continue-as-new."""
    project = await start(app, history_limit=120)
    pid = project["id"]
    rounds = 0
    while True:
        tasks = app.show_project(actor(app, LEAD), pid)["tasks"]
        open_tasks = [t for t in tasks if t["status"] == "open"]
        if not open_tasks:
            break
        moves = []
        for task in open_tasks:  # everything open at once: the most a workflow task has to carry
            move = next_move([task], PARTNERS[0], loops=False)
            assert move is not None
            moves.append(move)
        await asyncio.gather(*(app.complete_task(actor(app, t["assignee"]), pid, t["id"], outcome=o,
                                                 data=as_large_as_allowed(app, dict(t), d)) for t, d, o in moves))
        rounds += 1
        assert rounds < 60
    assert app.show_project(actor(app, LEAD), pid)["status"] == "completed"
    runs = [r async for r in app.client.list_workflows(f"WorkflowId = 'project-{pid}'")]
    assert len(runs) >= 2, "the project continued as new on the way"
    largest = 0
    for run in runs:
        history = await app.client.get_workflow_handle(run.id, run_id=run.run_id).fetch_history()
        for event in history.events:
            largest = max(largest, event.ByteSize())
    assert largest < 512 * 1024, f"a history event of {largest} bytes: too close to Temporal's limits"
    assert (await app.verify_against_history(actor(app, "auditor"), pid))["ok"]


async def test_a_page_form_too_large_keeps_the_other_values_and_speaks_the_readers_language(
        app: Coopflow, http: httpx.AsyncClient):
    project = await start(app)
    pid = project["id"]
    await http_login(http, "stadt@demo.coopflow.example")
    page = await http.get(f"/projects/{pid}/tasks/t1?lang=de")
    form = {"csrf": re.search(r'name="csrf" value="([^"]+)"', page.text).group(1),  # type: ignore[union-attr]
            "request_id": "form-1", "budget_eur": "250000", "duration_months": "24", "languages": "de sr",
            "summary": "s" * 1_000_000, "objectives": "o" * 1_000_000, "target_groups": "t" * 1_000_000}
    answer = await http.post(f"/projects/{pid}/tasks/t1", data=form)
    assert answer.status_code == 422
    for name in ("summary", "objectives", "target_groups"):
        field = re.search(rf'data-field="{name}".*?</div>', answer.text, re.S).group(0)  # type: ignore[union-attr]
        assert "ist zu lang" in field or "zu viele" in field, field[-300:]
    assert 'value="250000"' in answer.text and 'value="24"' in answer.text and 'value="de sr"' in answer.text

    form["summary"] = "s" * 5_000_000
    refused = await http.post(f"/projects/{pid}/tasks/t1", data=form)
    assert refused.status_code == 413 and "Das Formular ist zu groß" in refused.text
    assert app.show_project(actor(app, LEAD), pid)["tasks"][0]["status"] == "open"
