"""Temporal or the store going away: callers hear 503 within their wait, nothing is lost or doubled,
and everything heals by itself once the part is back."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.client import Client

from bench.proxy import TcpProxy
from services.app import Coopflow
from services.devstack import DevServer, free_port
from services.temporal import TemporalUnavailable
from store import accounts, make_engine
from tests.durability.conftest import FAST, assert_exactly_once
from tests.utils.app import LEAD, PARTNERS, actor, start
from tests.utils.scenario import SAMPLE_DATA
from web.app import create_app
from worker import build_worker


@pytest.fixture
async def own_server(tmp_path: Path) -> AsyncIterator[DevServer]:
    """A dev server of this test's own, on SQLite, that the test may kill and start again."""
    for attempt in range(3):  # a free port picked here may be taken by the time the server binds it
        server = DevServer(tmp_path / f"temporal-{attempt}", free_port())
        server.start()
        try:
            await server.wait_ready()
            break
        except TemporalUnavailable:
            server.stop()
            if attempt == 2:
                raise
    yield server
    server.stop()


async def test_temporal_killed_and_restarted_mid_lifecycle(own_server: DevServer, engine: Engine):
    client = await own_server.wait_ready()
    app = Coopflow(engine=engine, client=client, task_queue=f"tq-{uuid.uuid4()}", update_timeout=60, **FAST)
    async with build_worker(client, engine, app.task_queue, sticky_timeout=1):
        project = await start(app)
        pid, lead = project["id"], actor(app, LEAD)
        await app.complete_task(lead, pid, "t1", data=SAMPLE_DATA["concept_note"])
        letters = [asyncio.create_task(app.complete_task(actor(app, org), pid, f"t{i}", request_id=f"loi-{org}",
                                                         data=SAMPLE_DATA["letter_of_intent"]))
                   for i, org in enumerate(PARTNERS, start=2)]
        own_server.kill()  # whatever the letters had reached
        await asyncio.sleep(2)
        assert not all(task.done() for task in letters)
        own_server.start()
        answers = await asyncio.gather(*letters)
        assert [a["status"] for a in answers] == ["completed"] * 3
        for org, answer in zip(PARTNERS, answers, strict=True):
            await assert_exactly_once(app, pid, answer["id"], actor(app, org).user)


async def test_temporal_away_longer_than_the_wait_is_a_503_and_the_retry_gets_the_answer(
        own_server: DevServer, engine: Engine):
    client = await own_server.wait_ready()
    app = Coopflow(engine=engine, client=client, task_queue=f"tq-{uuid.uuid4()}", update_timeout=3, **FAST)
    async with build_worker(client, engine, app.task_queue, sticky_timeout=1):
        project = await start(app)
        pid, lead = project["id"], actor(app, LEAD)
        own_server.kill()
        with pytest.raises(TemporalUnavailable, match="same Idempotency-Key"):
            await app.complete_task(lead, pid, "t1", data=SAMPLE_DATA["concept_note"], request_id="k")
        own_server.start()
        patient = Coopflow(engine=engine, client=client, task_queue=app.task_queue, update_timeout=60, **FAST)
        done = await patient.complete_task(lead, pid, "t1", data=SAMPLE_DATA["concept_note"], request_id="k")
        assert done["status"] == "completed"
        await assert_exactly_once(patient, pid, "t1", lead.user)


@pytest.fixture
async def cut_store(postgresql_engine: Engine) -> AsyncIterator[tuple[TcpProxy, Engine]]:
    """An engine on the test database whose line (a TCP proxy) the test can cut."""
    url = postgresql_engine.url
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    port = proxy.start()
    engine = make_engine(url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False))
    yield proxy, engine
    engine.dispose()
    proxy.stop()


async def test_a_completion_waits_out_a_store_outage(temporal_client: Client, postgresql_engine: Engine,
                                                    cut_store: tuple[TcpProxy, Engine]):
    """The worker's line to the store is cut while a completion is written: it is written once it is back."""
    proxy, through_proxy = cut_store
    app = Coopflow(engine=postgresql_engine, client=temporal_client, task_queue=f"tq-{uuid.uuid4()}",
                   update_timeout=60, **FAST)
    async with build_worker(temporal_client, through_proxy, app.task_queue, sticky_timeout=1):
        project = await start(app)
        pid, lead = project["id"], actor(app, LEAD)
        proxy.cut()
        completing = asyncio.create_task(app.complete_task(lead, pid, "t1", data=SAMPLE_DATA["concept_note"]))
        await asyncio.sleep(4)  # the write fails and is retried meanwhile
        assert not completing.done()
        assert app.show_project(lead, pid)["tasks"][0]["status"] == "open"  # the store is behind, not wrong
        proxy.mend()
        assert (await completing)["status"] == "completed"
        await assert_exactly_once(app, pid, "t1", lead.user)


async def test_over_http_an_outage_is_a_503_in_the_envelope(temporal_client: Client, postgresql_engine: Engine,
                                                            cut_store: tuple[TcpProxy, Engine]):
    proxy, through_proxy = cut_store
    task_queue = f"tq-{uuid.uuid4()}"
    app = Coopflow(engine=through_proxy, client=temporal_client, task_queue=task_queue, update_timeout=2, **FAST)
    token = accounts.rotate_token(postgresql_engine, "stadt@demo.coopflow.example")
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "http-1"}
    body = {"data": SAMPLE_DATA["concept_note"]}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(coopflow=app, secret="s")),
                                 base_url="http://test") as http:
        async with build_worker(temporal_client, postgresql_engine, task_queue, sticky_timeout=1):
            project = await start(app)
        pid = project["id"]
        # no worker answers: Temporal cannot confirm within the wait
        answer = await http.post(f"/api/projects/{pid}/tasks/t1/complete", json=body, headers=headers)
        assert answer.status_code == 503 and answer.headers["retry-after"]
        assert answer.json()["error"]["code"] == "temporal_unavailable"
        assert "same Idempotency-Key" in answer.json()["error"]["message"]
        # the store is away: reads and writes say so
        proxy.cut()
        for response in (await http.get("/api/tasks", headers=headers),
                         await http.post(f"/api/projects/{pid}/tasks/t1/complete", json=body, headers=headers)):
            assert response.status_code == 503 and response.json()["error"]["code"] == "store_unavailable"
        proxy.mend()
        # a worker is back: the same request gets the one completion that Temporal had queued
        async with build_worker(temporal_client, postgresql_engine, task_queue, sticky_timeout=1):
            app.update_timeout = 60
            retried = await http.post(f"/api/projects/{pid}/tasks/t1/complete", json=body, headers=headers)
            assert retried.status_code == 200 and retried.json()["status"] == "completed"
            await assert_exactly_once(app, pid, "t1", actor(app, LEAD).user)
