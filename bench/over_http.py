"""A task completion over HTTP against a bare Temporal update, at the same concurrency, in one run.

    python bench/over_http.py [--completions 600] [--concurrency 5] [--rounds 3]

The production shape: `coopflow web` and `coopflow worker` each in a process of their own, a
Temporal dev server (SQLite, WAL) and a SQLite store. Clients complete tasks through
`POST /api/projects/{id}/tasks/{task}/complete` with their API tokens (token, permission,
validation, update, store write, answer); only that request is timed. Each client works its project
as a person works an inbox: it completes every task that was open, then reads what is open now
(`GET /api/projects/{id}/tasks?status=open`, untimed). Clients speak HTTP through a minimal
kept-alive connection (bench/lean_http.py): httpx would spend about a millisecond of CPU per request
on the same two cores as the server side, which the baseline's Rust-backed client does not. The baseline sends bare
Temporal updates that each await an activity writing a row (the same durable work, no HTTP, no
domain), its worker in a process of its own too; the reference does the same with a local activity.

(Not bench/http.py: that would shadow the standard library's `http` for every script in this folder.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from bench.lean_http import LeanClient
from bench.throughput import Totals, address_of, embedded_stack, pct, run_baseline, wave, worker_process
from services.devstack import free_port
from services.seed import demo_email
from store import accounts

LEAD = "stadt-dortmund"
PARTNERS = ["caritas-rs", "horizon-civitas-mk", "different-and-equal-al"]
COOPFLOW = str(Path(sys.executable).parent / "coopflow")


async def web_process(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen([COOPFLOW, "web", "--port", str(port), "--json"], env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            try:
                if (await client.get(f"http://127.0.0.1:{port}/api/health")).status_code == 200:
                    return proc
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("coopflow web did not come up")


async def run_http(base: str, tokens: dict[str, str], completions: int, c: int) -> dict:
    latencies: list[float] = []
    projects: list[str] = []
    reads = 0
    remaining = completions
    host, port = base.removeprefix("http://").split(":")

    async def project(client: LeanClient) -> None:
        nonlocal remaining, reads
        status, started = await client.request("POST", "/api/projects", tokens[LEAD], {
            "title": "bench", "partners": PARTNERS, "parameters": {"report_count": 1}})
        assert status == 201, started
        pid, tasks = started["id"], started["tasks"]
        projects.append(pid)
        while remaining > 0 and (moves := wave(tasks, PARTNERS[0])):
            for task, data, outcome in moves[:remaining]:
                remaining -= 1
                began = time.perf_counter()
                status, answer = await client.request(
                    "POST", f"/api/projects/{pid}/tasks/{task['id']}/complete", tokens[task["assignee"]],
                    {"data": data, "outcome": outcome})
                latencies.append(time.perf_counter() - began)
                assert status == 200, answer
            status, tasks = await client.request("GET", f"/api/projects/{pid}/tasks?status=open", tokens[LEAD])
            assert status == 200, tasks
            reads += 1

    async def lane() -> None:
        client = LeanClient(host, int(port))
        try:
            while remaining > 0:
                await project(client)
        finally:
            await client.close()

    began = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(c)))
    return {"elapsed": time.perf_counter() - began, "completions": len(latencies), "latencies": latencies,
            "project_ids": projects, "reads": reads}


def clients_and_settings(env: WorkflowEnvironment, engine: Engine, folder: str, task_queue: str
                         ) -> tuple[dict[str, str], dict[str, str]]:
    """The clients' API tokens (by organisation, and for auditor tasks), and the settings of the
    `coopflow web` and `worker` processes on ``task_queue``, keeping their data in ``folder``."""
    tokens = {org: accounts.rotate_token(engine, demo_email(org)) for org in [LEAD, *PARTNERS, "audit-office"]}
    tokens["auditor"] = tokens["audit-office"]
    settings = {"COOPFLOW_TEMPORAL_ADDRESS": address_of(env), "COOPFLOW_TASK_QUEUE": task_queue,
                "COOPFLOW_LOG_LEVEL": "WARNING", "COOPFLOW_DATA_DIR": folder,
                "COOPFLOW_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    return tokens, settings


def line(name: str, side: Totals) -> str:
    return (f"{name:<10} {side.rate():7.1f} completions/s  {side.percentiles()}  "
            f"mean {statistics.mean(side.latencies) * 1000:6.1f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--completions", type=int, default=600, help="per side and round")
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="each side runs this many times, in turn")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env, engine = await embedded_stack(tmp)
        tokens, settings = clients_and_settings(env, engine, tmp, "bench-http")
        port = free_port()
        web = await web_process(settings, port)
        ours, base, local = Totals(), Totals(), Totals()
        try:
            async with worker_process([COOPFLOW, "worker", "--json"], settings):
                await run_http(f"http://127.0.0.1:{port}", tokens, 40, args.concurrency)  # warm-up
                for number in range(args.rounds):
                    print(f"round {number + 1}/{args.rounds}: {args.completions} completions over HTTP, "
                          f"{args.concurrency} at a time …", file=sys.stderr)
                    ours.add(await run_http(f"http://127.0.0.1:{port}", tokens, args.completions,
                                               args.concurrency))
                    print("  baseline: bare update + activity …", file=sys.stderr)
                    projects = max(args.concurrency, args.completions // 20)
                    base.add(await run_baseline(env, engine, projects, args.concurrency,
                                                args.completions // projects, separate=True))
                    print("  reference: bare update + local activity …", file=sys.stderr)
                    local.add(await run_baseline(env, engine, projects, args.concurrency,
                                                 args.completions // projects, separate=True, local=True))
        finally:
            web.send_signal(signal.SIGTERM)
            web.wait(30)
            await env.shutdown()

    print()
    print(line("coopflow", ours) + "   (HTTP: token, permission, validation, update, store, answer)")
    print(line("baseline", base) + "   (bare update + activity, same write)")
    print(line("reference", local) + "   (bare update + local activity)")
    for name, other in (("baseline", base), ("reference", local)):
        print(f"vs {name:<9} p50 {pct(ours.latencies, .5) / pct(other.latencies, .5):.2f}×  "
              f"p99 {pct(ours.latencies, .99) / pct(other.latencies, .99):.2f}×")


if __name__ == "__main__":
    asyncio.run(main())
