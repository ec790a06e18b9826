"""A partner's witness down for a project's whole lifecycle (#20): every completion still answers at once, the
auditor's page says whose witness is unreachable since when, and once it is started the minutely schedule on the
dev server gets the checkpoint cosigned. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus

from evidence.notes import Signer
from services.app import Coopflow
from services.devstack import free_port
from services.seed import demo_email
from services.temporal import ensure_checkpoint_schedule
from store.checkpoints import latest_checkpoint
from store.witnesses import cosignatures, statuses
from tests.utils.app import PARTNERS, play, start
from tests.web.conftest import http_login
from tests.witness.partners import cli, make_witness
from web.app import create_app
from web.server import serve
from workflows import witnesses as witnessing

pytestmark = pytest.mark.long(27)  # seconds on 2 cores: started first (tests/conftest.py)


@asynccontextmanager
async def auditor_pages(app: Coopflow) -> AsyncIterator[httpx.AsyncClient]:
    """The web app on a free port, and a client logged in as the auditor (no JavaScript)."""
    port, stop = free_port(), asyncio.Event()
    server = asyncio.create_task(serve(create_app(coopflow=app, secret="witness-test"), "127.0.0.1", port, stop))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for _ in range(100):
            try:
                if (await client.get("/login")).status_code == 200:
                    break
            except httpx.TransportError:
                await asyncio.sleep(0.05)
        await http_login(client, demo_email("audit-office"))
        yield client
    stop.set()
    await server


async def page_text(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return " ".join(html.unescape(page.text).split())


async def cosigned_by(app: Coopflow, pid: str, n: int, within: float) -> set[str]:
    size = latest_checkpoint(app.engine, pid)["tree_size"]  # type: ignore[index]
    deadline = time.monotonic() + within
    while True:
        orgs = {c["org_id"] for c in cosignatures(app.engine, pid, size)}
        if len(orgs) >= n or time.monotonic() > deadline:
            return orgs
        await asyncio.sleep(1)


async def only_this_worker_runs_the_schedule(app: Coopflow) -> None:
    """The dev server is shared by the tests: the schedule now starts runs on this test's task queue, and a run
    left waiting on an earlier test's queue (which would make it skip) is ended."""
    await ensure_checkpoint_schedule(app.client, app.task_queue)
    described = await app.client.get_schedule_handle(witnessing.SCHEDULE_ID).describe()
    for action in described.info.running_actions:
        handle = app.client.get_workflow_handle(action.workflow_id)
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            await handle.terminate("another test's task queue")


async def test_a_witness_down_delays_nothing_and_cosigns_after_it_is_started(app: Coopflow, signer: Signer,
                                                                           tmp_path: Path):
    made = [make_witness(tmp_path / org, org) for org in PARTNERS]
    down, port = made[1], free_port()  # Horizon Civitas's, at an address where nothing listens yet
    for w in made:
        if w is not down:
            w.start(signer)
    try:
        for w in made:
            url = w.process.url if w.process else f"http://127.0.0.1:{port}"
            cli(app.engine, signer, "org", "witness", w.org, "--url", url, "--key", w.key)
        await only_this_worker_runs_the_schedule(app)
        pid = (await start(app))["id"]
        answers = await play(app, pid)  # to the end, with its closing checkpoint, one witness down
        assert answers and all(a["status"] == "completed" for a in answers)

        await app.client.get_schedule_handle(witnessing.SCHEDULE_ID).trigger()  # the schedule's run, now
        assert await cosigned_by(app, pid, 2, within=30) == {PARTNERS[0], PARTNERS[2]}
        status = statuses(app.engine, pid)[(pid, down.org)]
        assert status["last_error"].startswith("unreachable") and status["failing_since"]
        async with auditor_pages(app) as client:
            audit = await page_text(client, f"/projects/{pid}/audit")
            assert "Cosigned by 2 of 3 partners; Horizon Civitas's witness unreachable since 20" in audit, audit
            assert down.org not in audit.split("Cosigned by", 1)[1][:200]  # names, never ids
            project = await page_text(client, f"/projects/{pid}")
            assert "run a witness of this project's checkpoints: Caritas" in project

            down.start(signer, port)  # back: the next minutely run cosigns
            assert await cosigned_by(app, pid, 3, within=90) == set(PARTNERS)
            assert "Cosigned by 3 of 3 partners" in await page_text(client, f"/projects/{pid}/audit")
            assert statuses(app.engine, pid)[(pid, down.org)]["failing_since"] is None
    finally:
        for w in made:
            w.stop()
