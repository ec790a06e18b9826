"""Throughput of coopflow against bare Temporal, in one run, on the embedded stack.

    python bench/throughput.py [--projects 200] [--concurrency 20] [--partners 3] [--rounds 4] [--worker-process]

Drives N projects through the whole default lifecycle (straight path, one report per
partner) through the application layer, C at a time, against a Temporal dev server on
SQLite (WAL) and a SQLite store — what `coopflow dev` runs. Then it drives a bare-Temporal
baseline doing the same number of updates, each awaiting an activity that writes a row (the
same kind of durable write as ours), and prints our throughput as a ratio of it. A second
reference does the same with a local activity (how coopflow wrote before v1.2): the gap
between the two baselines is what writing only after the workflow task commits costs.
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
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text
from sqlalchemy.engine import Engine
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.bare import BareActivities, BareWorkflow
from domain import Actor
from services.app import Coopflow
from services.devstack import DEV_SERVER_ARGS, temporal_binary
from services.seed import demo_email, seed_demo
from store import make_engine, upgrade
from tests.utils.scenario import next_move
from worker import build_worker, workflow_runner
from workflows import SEARCH_ATTRIBUTES

PARTNERS = ["caritas-rs", "horizon-civitas-mk", "different-and-equal-al"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def actors_of(app: Coopflow, partners: list[str]) -> dict[str, Actor]:
    """The demo user acting for each organisation (and for auditor tasks), looked up once."""
    actors = {org: app.actor_for_email(demo_email(org)) for org in [*partners, "stadt-dortmund", "audit-office"]}
    return {**actors, "auditor": actors["audit-office"]}


def wave(tasks: list[dict[str, Any]], first_partner: str) -> list[tuple[dict[str, Any], dict[str, Any], str | None]]:
    """What a person working an inbox does next: every open task (oldest first) with its data and
    outcome on the straight path; then the driver looks again at what is open."""
    ordered = sorted((t for t in tasks if t["status"] == "open"), key=lambda t: int(t["id"].lstrip("t")))
    return [move for t in ordered if (move := next_move([t], first_partner, loops=False)) is not None]


async def drive_project(app: Coopflow, partners: list[str], latencies: list[float],
                        actors: dict[str, Actor] | None = None) -> tuple[str, int]:
    """One project through its straight path, wave after wave (see ``wave``); between waves the driver
    reads what is open, as a client would with ``GET /api/projects/{id}/tasks?status=open``."""
    actors = actors or actors_of(app, partners)
    lead = actors["stadt-dortmund"]
    project = await app.start_project(lead, title="bench", partners=partners, parameters={"report_count": 1})
    tasks, count = project["tasks"], 0
    while moves := wave(tasks, partners[0]):
        for task, data, outcome in moves:
            began = time.perf_counter()
            await app.complete_task(actors[task["assignee"]], project["id"], task["id"], data=data,
                                    outcome=outcome)
            latencies.append(time.perf_counter() - began)
            count += 1
        tasks = app.project_tasks(lead, project["id"], "open")
    return project["id"], count


def cpu_seconds(pid: int) -> float:
    """The CPU a process has used so far (user and system), from Linux's /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@asynccontextmanager
async def worker_process(command: list[str], env: dict[str, str]) -> AsyncIterator[subprocess.Popen[str]]:
    """A worker in a process of its own, as in production, once it runs; stopped with SIGTERM afterwards."""
    proc = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    lines = [await asyncio.to_thread(proc.stdout.readline)]
    while '"running"' not in lines[-1] and lines[-1]:
        lines.append(await asyncio.to_thread(proc.stdout.readline))
    assert '"running"' in lines[-1], f"the worker did not start: {''.join(lines)!r}"
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(proc.wait, 30)


async def embedded_stack(folder: str) -> tuple[WorkflowEnvironment, Engine]:
    """What `coopflow dev` runs, in ``folder``: a Temporal dev server on SQLite (WAL) and a SQLite store
    with the demo organisations and users."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(), data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES, dev_server_database_filename=f"{folder}/temporal.db",
        dev_server_extra_args=DEV_SERVER_ARGS, dev_server_log_level="error")
    engine = make_engine(f"sqlite:///{folder}/store.db")
    upgrade(engine)
    seed_demo(engine)
    return env, engine


@asynccontextmanager
async def worker_processes(count: int, command: list[str], env: dict[str, str]
                           ) -> AsyncIterator[list[subprocess.Popen[str]]]:
    """``count`` workers, each in a process of its own, polling the same task queue."""
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(worker_process(command, env)) for _ in range(count)]


def data_dir_of(engine: Engine) -> Path:
    """Where a bench's worker processes keep their data (signing key): beside a SQLite store, never
    the checkout's `.coopflow`."""
    if engine.dialect.name == "sqlite" and engine.url.database:
        return Path(engine.url.database).parent
    return Path(tempfile.gettempdir()) / "coopflow-bench"


def address_of(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


async def run_ours(env: WorkflowEnvironment, engine, n: int, c: int, partners: list[str],
                   separate: bool = False, workers: int = 1) -> dict:
    queue = f"bench-{uuid.uuid4()}"
    app = Coopflow(engine=engine, client=env.client, task_queue=queue)
    latencies: list[float] = []
    sem = asyncio.Semaphore(c)
    done = 0
    actors = actors_of(app, partners)

    async def one() -> tuple[str, int]:
        nonlocal done
        async with sem:
            result = await drive_project(app, partners, latencies, actors)
            done += 1
            if done % max(1, n // 10) == 0:
                print(f"  … {done}/{n} projects", file=sys.stderr, flush=True)
            return result

    running = (worker_processes(workers, [str(Path(sys.executable).parent / "coopflow"), "worker", "--json"], {
        "COOPFLOW_TEMPORAL_ADDRESS": address_of(env), "COOPFLOW_TASK_QUEUE": queue, "COOPFLOW_LOG_LEVEL": "WARNING",
        "COOPFLOW_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "COOPFLOW_DATA_DIR": str(data_dir_of(engine))})
        if separate else build_worker(env.client, engine, queue))
    async with running:
        began = time.perf_counter()
        results = await asyncio.gather(*(one() for _ in range(n)))
        elapsed = time.perf_counter() - began
    completions = sum(count for _, count in results)
    sample = results[: min(20, n)]
    history = 0
    for pid, _ in sample:
        async for run in env.client.list_workflows(f"WorkflowId = 'project-{pid}'"):
            history += len((await env.client.get_workflow_handle(run.id, run_id=run.run_id).fetch_history()).events)
    sampled = sum(count for _, count in sample)
    return {"elapsed": elapsed, "projects": n, "completions": completions, "latencies": latencies,
            "events_per_task": history / sampled, "sampled": sampled}


async def run_baseline(env: WorkflowEnvironment, engine, n: int, c: int, updates: int,
                       separate: bool = False, local: bool = False, workers: int = 1) -> dict:
    """``n`` bare workflows, ``c`` at a time, each taking ``updates`` updates. With ``separate`` (workers in
    processes of their own) the result has ``worker_cpu``: the seconds of CPU those processes used
    while the workflows ran."""
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bare_write (k VARCHAR PRIMARY KEY)"))
    queue = f"bare-{uuid.uuid4()}"
    latencies: list[float] = []
    ids: list[str] = []
    sem = asyncio.Semaphore(c)

    async def one() -> None:
        async with sem:
            ids.append(f"bare-{uuid.uuid4()}")
            handle = await env.client.start_workflow(BareWorkflow.run, id=ids[-1], task_queue=queue)
            for i in range(updates):
                began = time.perf_counter()
                await handle.execute_update(BareWorkflow.touch_local if local else BareWorkflow.touch, i)
                latencies.append(time.perf_counter() - began)
            await handle.execute_update(BareWorkflow.finish)

    from concurrent.futures import ThreadPoolExecutor
    running = (worker_processes(workers, [sys.executable, str(Path(__file__).parent / "bare.py"), address_of(env),
                                          queue, engine.url.render_as_string(hide_password=False)], {})
               if separate else Worker(env.client, task_queue=queue, workflows=[BareWorkflow],
                                       activities=[BareActivities(engine).write], max_concurrent_activities=16,
                                       activity_executor=ThreadPoolExecutor(16), workflow_runner=workflow_runner()))
    async with running as started:
        pids = [p.pid for p in started] if isinstance(started, list) else []
        cpu_before = sum(cpu_seconds(pid) for pid in pids)
        began = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        elapsed = time.perf_counter() - began
        cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
    result = {"elapsed": elapsed, "completions": n * updates, "latencies": latencies, "workflows": ids}
    return {**result, "worker_cpu": cpu} if separate else result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--partners", type=int, default=3, choices=[1, 2, 3])
    parser.add_argument("--rounds", type=int, default=4, help="each side runs this many times, in turn")
    parser.add_argument("--worker-process", action="store_true",
                        help="run each side's worker in a process of its own (as in production)")
    parser.add_argument("--workers", type=int, default=1,
                        help="with --worker-process: this many worker processes on each side")
    args = parser.parse_args()
    partners = PARTNERS[: args.partners]
    with tempfile.TemporaryDirectory() as tmp:
        env, engine = await embedded_stack(tmp)
        try:
            # in rounds, each side in turn, so that drift (the server's database growing, other load)
            # weighs on all sides alike
            ours, base, local = Totals(), Totals(), Totals()
            size = max(1, args.projects // args.rounds)
            for number in range(args.rounds):
                n = size if number < args.rounds - 1 else args.projects - size * (args.rounds - 1)
                print(f"round {number + 1}/{args.rounds}: coopflow, {n} projects × whole lifecycle, "
                      f"{args.concurrency} at a time …", file=sys.stderr)
                ours.add(await run_ours(env, engine, n, args.concurrency, partners, args.worker_process,
                                        args.workers))
                per_project = ours.completions // ours.projects
                print(f"  baseline: {n} bare workflows × {per_project} update+activity …", file=sys.stderr)
                base.add(await run_baseline(env, engine, n, args.concurrency, per_project, args.worker_process,
                                            workers=args.workers))
                print(f"  reference: {n} bare workflows × {per_project} update+local activity …", file=sys.stderr)
                local.add(await run_baseline(env, engine, n, args.concurrency, per_project, args.worker_process,
                                             local=True, workers=args.workers))
        finally:
            await env.shutdown()
    ours_rate, base_rate, local_rate = ours.rate(), base.rate(), local.rate()
    print(f"\ncoopflow   {ours.projects / ours.elapsed:7.2f} projects/s  {ours_rate:7.1f} completions/s  "
          f"{ours.percentiles()}  ({ours.completions} completions)")
    print(f"baseline   {'':7} {'':11} {base_rate:7.1f} completions/s  {base.percentiles()}  (update + activity)")
    print(f"reference  {'':7} {'':11} {local_rate:7.1f} completions/s  {local.percentiles()}  "
          "(update + local activity)")
    print(f"ratio      {ours_rate / base_rate:.2f}× the baseline (target ≥ 0.8); "
          f"{ours_rate / local_rate:.2f}× the local-activity reference")
    print(f"history    {ours.history / ours.sampled:.1f} Temporal history events per completed task (target ≤ 12)")
    print(f"mean       {statistics.mean(ours.latencies) * 1000:.1f} ms per completion")


class Totals:
    """One side's figures, summed over the rounds."""

    def __init__(self) -> None:
        self.elapsed, self.completions, self.projects, self.history, self.sampled = 0.0, 0, 0, 0.0, 0
        self.latencies: list[float] = []

    def add(self, run: dict) -> None:
        self.elapsed += run["elapsed"]
        self.completions += run["completions"]
        self.projects += run.get("projects", 0)
        self.latencies += run["latencies"]
        if "events_per_task" in run:
            self.history += run["events_per_task"] * run["sampled"]
            self.sampled += run["sampled"]

    def rate(self) -> float:
        return self.completions / self.elapsed

    def percentiles(self) -> str:
        return "  ".join(f"p{int(q * 100)} {pct(self.latencies, q):6.1f} ms" for q in (.5, .95, .99))


if __name__ == "__main__":
    asyncio.run(main())
