"""The timing half of ``bench/large_store.py``: the pages, lists and commands of issue 21, p50/p95 each.

Pages are asked for as a browser does (logged in, httpx over ASGI, the app in this process); a page beyond
the first is reached by following its ``rel="next"`` links, so the same code times numbered pages and
cursor pages alike. Commands run through the application layer as the CLI runs them.
"""

from __future__ import annotations

import asyncio
import re
import resource
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import Engine

from store import accounts

TARGETS = {"landing": "≤ 200 ms", "project": "≤ 150 ms, ≤ 100 KB", "audit": "≤ 200 ms", "list": "≤ 100 ms",
           "inbox": "≤ 50 ms", "verify_all": "≤ 10 s / 1 M events", "daily": "only grown trails"}
NEXT = re.compile(r'<a href="([^"]+)" rel="next"')


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Table:
    """What, p50 and p95 of the wall-clock time, the median CPU time of this process (every thread: on a
    busy machine the wall clock waits for other work, the CPU time does not), size, target."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float, float, str, str]] = []

    def add(self, what: str, times: list[float], size: int | None, target: str, cpu: list[float]) -> None:
        self.rows.append((what, statistics.median(times) * 1000, _percentile(times, 0.95) * 1000,
                          statistics.median(cpu) * 1000, "" if size is None else f"{size / 1024:.0f} KB", target))
        print(f"  {what}: p50 {self.rows[-1][1]:.0f} ms", flush=True)

    def print(self) -> None:
        print(f"\n| {'what':<58} | {'p50 ms':>8} | {'p95 ms':>8} | {'CPU ms':>8} | {'size':>8} | target |")
        print(f"|{'-' * 60}|{'-' * 9}:|{'-' * 9}:|{'-' * 9}:|{'-' * 9}:|--------|")
        for what, p50, p95, cpu, size, target in self.rows:
            print(f"| {what:<58} | {p50:>8.1f} | {p95:>8.1f} | {cpu:>8.1f} | {size:>8} | {target} |")


async def _timed(call: Callable[[], Awaitable[httpx.Response]], repeat: int
                 ) -> tuple[list[float], int, list[float]]:
    times, size, cpu = [], 0, []
    for _ in range(repeat):
        began, used = time.perf_counter(), time.process_time()
        answer = await call()
        times.append(time.perf_counter() - began)
        cpu.append(time.process_time() - used)
        assert answer.status_code == 200, (answer.status_code, answer.text[:300])
        size = len(answer.content)
    return times, size, cpu


async def _login(client: httpx.AsyncClient, email: str, password: str) -> None:
    page = await client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    done = await client.post("/login", data={"email": email, "password": password, "csrf": token,
                                             "next": "/inbox"})
    assert done.status_code == 303, done.text


async def _nth(client: httpx.AsyncClient, url: str, n: int) -> str:
    """The URL of the ``n``-th page (or the last there is) by following ``rel="next"``."""
    for _ in range(n - 1):
        found = NEXT.search((await client.get(url)).text)
        if found is None:
            break
        url = found.group(1).replace("&amp;", "&")
    return url


async def _pages(engine: Engine, built: Any, repeat: int, table: Table, landing: bool = True) -> None:
    from bench.large_store import AUDIT_ORG, LEADS, PARTNER_ORGS, PASSWORD, email
    from services.app import Coopflow
    from web.app import create_app

    app = Coopflow(engine=engine, client=None, task_queue="bench", signer=built.signer)  # type: ignore[arg-type]
    web = create_app(coopflow=app, secret="bench-secret")
    big = built.big[0]
    transport = httpx.ASGITransport(app=web)
    tokens = {org: accounts.rotate_token(engine, email(org)) for org in (LEADS[0], PARTNER_ORGS[0], AUDIT_ORG)}
    clients = {org: httpx.AsyncClient(transport=transport, base_url="http://bench") for org in tokens}
    try:
        for org, client in clients.items():
            await _login(client, email(org), PASSWORD)
        auditor, partner, lead = clients[AUDIT_ORG], clients[PARTNER_ORGS[0]], clients[LEADS[0]]

        async def page(what: str, client: httpx.AsyncClient, url: str, target: str) -> None:
            times, size, cpu = await _timed(lambda: client.get(url), repeat)
            table.add(what, times, size, target, cpu)

        async def api(what: str, org: str, url: str, target: str) -> None:
            headers = {"Authorization": f"Bearer {tokens[org]}"}
            times, size, cpu = await _timed(lambda: auditor.get(url, headers=headers), repeat)
            table.add(what, times, size, target, cpu)

        if landing:
            await page("auditor landing page 1 (/inbox)", auditor, "/inbox", TARGETS["landing"])
            await page("auditor landing page 40 (or the last)", auditor, await _nth(auditor, "/inbox", 40),
                       TARGETS["landing"])
        with engine.connect() as conn:
            events = conn.execute(text("SELECT count(*) FROM audit_event WHERE project_id = :p"), {"p": big}).scalar()
        await page(f"project page, {events} events (lead)", lead, f"/projects/{big}", TARGETS["project"])
        await page("audit page, first page", auditor, f"/projects/{big}/audit", TARGETS["audit"])
        await page("audit page, page 30 (or the last)", auditor, await _nth(auditor, f"/projects/{big}/audit", 30),
                   TARGETS["audit"])
        await page("audit page ?org=<partner>", auditor, f"/projects/{big}/audit?org={PARTNER_ORGS[0]}",
                   TARGETS["audit"])
        await page("audit page ?type=StepCompleted", auditor, f"/projects/{big}/audit?type=StepCompleted",
                   TARGETS["audit"])
        await page("audit page ?verify=1", auditor, f"/projects/{big}/audit?verify=1", TARGETS["audit"])
        await page("/projects page (auditor)", auditor, "/projects", TARGETS["list"])
        await page("/projects page (lead)", lead, "/projects", TARGETS["list"])
        await api("GET /api/projects (auditor)", AUDIT_ORG, "/api/projects", TARGETS["list"])
        await api("GET /api/projects (lead)", LEADS[0], "/api/projects", TARGETS["list"])
        await api("GET /api/tasks (partner)", PARTNER_ORGS[0], "/api/tasks", TARGETS["list"])
        await api("GET /api/tasks (lead)", LEADS[0], "/api/tasks", TARGETS["list"])
        await api("GET /api/projects/{big}/events (auditor)", AUDIT_ORG, f"/api/projects/{big}/events",
                  TARGETS["list"])
        await page("partner's inbox (/inbox)", partner, "/inbox", TARGETS["inbox"])
        await page("lead's inbox (/inbox)", lead, "/inbox", TARGETS["inbox"])
    finally:
        for client in clients.values():
            await client.aclose()


def _commands(engine: Engine, built: Any, table: Table) -> None:
    from temporalio.testing import ActivityEnvironment

    from activities.checkpoints import CheckpointActivities
    from bench.large_store import AUDIT_ORG, email
    from services.app import Coopflow

    app = Coopflow(engine=engine, client=None, task_queue="bench", signer=built.signer)  # type: ignore[arg-type]
    job = CheckpointActivities(engine, built.signer)
    times, cpu = [], []
    for _ in range(3):
        began, used = time.perf_counter(), time.process_time()
        ActivityEnvironment().run(job.checkpoint_active_projects)
        times.append(time.perf_counter() - began)
        cpu.append(time.process_time() - used)
    table.add("daily checkpoint job (nothing grew)", times, None, TARGETS["daily"], cpu)
    auditor = app.actor_for_email(email(AUDIT_ORG))
    times, cpu = [], []
    for _ in range(2):  # what `coopflow audit verify --all` does: the trails streamed over every core
        began, used = time.perf_counter(), cpu_used()
        count = app.verify_all(auditor)["events"]
        times.append(time.perf_counter() - began)
        cpu.append(cpu_used() - used)
    table.add(f"audit verify --all ({count} events; CPU: all its processes)", times, None, TARGETS["verify_all"],
              cpu)


def cpu_used(*, own: bool = True) -> float:
    """CPU seconds of the processes this one ran and waited for (with theirs), and with ``own`` of this one too:
    steady on a busy machine, where wall clocks wait for other work."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = children.ru_utime + children.ru_stime
    if own:
        mine = resource.getrusage(resource.RUSAGE_SELF)
        used += mine.ru_utime + mine.ru_stime
    return used


def time_everything(engine: Engine, built: Any, repeat: int = 20, lists_only: bool = False) -> Table:
    """Every figure; ``lists_only``: the pages and lists, without the auditor's landing page and the
    commands (which verify whole trails)."""
    table = Table()
    asyncio.run(_pages(engine, built, repeat, table, landing=not lists_only))
    if not lists_only:
        _commands(engine, built, table)
    table.print()
    return table
