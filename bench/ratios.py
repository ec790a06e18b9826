"""coopflow against bare Temporal doing the same durable work, in one run: the table of ratios.

    python bench/ratios.py [--completions 400] [--concurrency 5] [--projects 30] [--rounds 2]

The baseline is an update that awaits a *regular* activity writing a row to the store (bench/bare.py):
the only write path our exactly-once promise allows. On the embedded stack (`coopflow dev`'s shape: a
Temporal dev server on SQLite (WAL), a SQLite store), with `coopflow web` and `coopflow worker` each in a
process of their own, and the baseline's worker in one too, it measures, each side in turn for each round:

- **engine**: completions per second through the application layer (no HTTP), ``--projects`` whole
  lifecycles 20 at a time (bench/throughput.py), against the baseline's update + activity;
- **HTTP p50 and p99**: a completion through ``POST /api/projects/{id}/tasks/{task}/complete``,
  ``--concurrency`` clients at a time (bench/over_http.py), against a bare update at that concurrency;
- **CPU per completion**: the CPU seconds (user + system, from ``/proc/<pid>/stat``) that the server, web
  and worker processes used during the HTTP run, divided by its completions; for the baseline the server
  and its worker. The clients (this process) count on neither side. Latency ratios move with the
  machine's load; CPU per completion hardly does. Two figures: **all-in**, everything the run did divided
  by its completions (for coopflow that includes each project's start, about one per 27 completions, and
  the clients' reads of what is open, about one per two completions; for the baseline each workflow's start
  and its finishing update, one per 20); and **net**, with each side's starts (and coopflow's reads) taken
  out at what each costs when measured on its own after the rounds -- what completing a task costs. The
  target is read on the net figure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.lean_http import LeanClient
from bench.over_http import COOPFLOW, LEAD, clients_and_settings, run_http, web_process
from bench.throughput import PARTNERS, Totals, cpu_seconds, embedded_stack, pct, run_baseline, run_ours, worker_process
from services.devstack import free_port

TARGETS = {"engine": ("≥", 0.8), "p50": ("≤", 1.25), "p99": ("≤", 1.5), "cpu": ("≤", 1.25)}


def server_pids() -> list[int]:
    """The Temporal dev server this process started (a child whose command line names temporal)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and "temporal" in command and "server" in command:
            found.append(int(entry.name))
    return found


def cpu_of(pids: list[int]) -> float:
    return sum(cpu_seconds(pid) for pid in pids)


async def read_costs(base_url: str, tokens: dict[str, str], project_ids: list[str], pids: list[int], count: int,
                     concurrency: int) -> float:
    """The CPU (ms) that the server, web and worker spend on one client read of a project's open tasks (what the
    HTTP run's clients read between their waves of completions)."""
    host, port = base_url.removeprefix("http://").split(":")
    clients = [LeanClient(host, int(port)) for _ in range(concurrency)]
    before = cpu_of(pids)

    async def lane(client: LeanClient, k: int) -> None:
        for i in range(k, count, concurrency):
            status, tasks = await client.request("GET", f"/api/projects/{project_ids[i % len(project_ids)]}"
                                                 "/tasks?status=open", tokens[LEAD])
            assert status == 200, tasks

    await asyncio.gather(*(lane(client, k) for k, client in enumerate(clients)))
    used = (cpu_of(pids) - before) / count * 1000
    for client in clients:
        await client.close()
    return used


async def bare_lifecycle_cost(env: Any, engine: Any, server: list[int], count: int, concurrency: int) -> float:
    """The CPU (ms) that the server and a bare worker spend on a bare workflow's start and finishing update, with
    no update between (what the baseline's run does besides its updates)."""
    before = cpu_of(server)
    run = await run_baseline(env, engine, count, concurrency, 0, separate=True)
    return (cpu_of(server) - before + run["worker_cpu"]) / count * 1000


async def start_costs(env: Any, engine: Any, base_url: str, tokens: dict[str, str], pids: list[int],
                      count: int) -> tuple[float, float, float, float]:
    """The CPU (ms) that the server, web and worker (``pids``, the server's first) spend on one project's start
    over HTTP, and that the server and a bare worker spend on a bare workflow's start with its first update and
    write; then the server's share of each."""
    host, port = base_url.removeprefix("http://").split(":")
    client = LeanClient(host, int(port))
    before, server_before = cpu_of(pids), cpu_of(pids[:1])
    for _ in range(count):
        status, started = await client.request("POST", "/api/projects", tokens[LEAD], {
            "title": "bench", "partners": PARTNERS, "parameters": {"report_count": 1}})
        assert status == 201, started
    ours, ours_server = (cpu_of(pids) - before) / count * 1000, (cpu_of(pids[:1]) - server_before) / count * 1000
    await client.close()
    before = cpu_of(pids[:1])
    run = await run_baseline(env, engine, count, 1, 1, separate=True)
    bare_server = (cpu_of(pids[:1]) - before) / count * 1000
    return ours, bare_server + run["worker_cpu"] / count * 1000, ours_server, bare_server


def verdict(name: str, ratio: float) -> str:
    sign, target = TARGETS[name]
    ok = ratio >= target if sign == "≥" else ratio <= target
    return f"{ratio:5.2f}×  (target {sign} {target}; {'met' if ok else 'NOT met'})"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--completions", type=int, default=400, help="HTTP completions per side and round")
    parser.add_argument("--concurrency", type=int, default=5, help="HTTP clients at a time")
    parser.add_argument("--projects", type=int, default=30, help="whole lifecycles per round for the engine ratio")
    parser.add_argument("--rounds", type=int, default=2,
                        help="each side runs this many times, in turn (0: only the starts)")
    parser.add_argument("--starts", type=int, default=40, help="project starts timed for their CPU")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env, engine = await embedded_stack(tmp)
        server = server_pids()
        assert server, "the Temporal dev server's process was not found"
        tokens, settings = clients_and_settings(env, engine, tmp, "bench-ratios")
        port = free_port()
        web = await web_process(settings, port)
        http, bare, engine_ours, engine_bare = Totals(), Totals(), Totals(), Totals()
        cpu = {"server": 0.0, "web": 0.0, "worker": 0.0, "bare server": 0.0, "bare worker": 0.0}
        made = {"starts": 0, "reads": 0, "bare workflows": 0}
        last_projects: list[str] = []
        try:
            async with worker_process([COOPFLOW, "worker", "--json"], settings) as worker:
                base_url = f"http://127.0.0.1:{port}"
                await run_http(base_url, tokens, 40, args.concurrency)  # warm-up
                for number in range(args.rounds):
                    print(f"round {number + 1}/{args.rounds}: {args.completions} completions over HTTP …",
                          file=sys.stderr)
                    before = [cpu_of(server), cpu_seconds(web.pid), cpu_seconds(worker.pid)]
                    ran = await run_http(base_url, tokens, args.completions, args.concurrency)
                    http.add(ran)
                    made["starts"] += len(ran["project_ids"])
                    made["reads"] += ran["reads"]
                    last_projects = ran["project_ids"]
                    after = [cpu_of(server), cpu_seconds(web.pid), cpu_seconds(worker.pid)]
                    for key, b, a in zip(("server", "web", "worker"), before, after, strict=True):
                        cpu[key] += a - b
                    print("  baseline: bare update + activity at the same concurrency …", file=sys.stderr)
                    projects = max(args.concurrency, args.completions // 20)
                    began = cpu_of(server)
                    run = await run_baseline(env, engine, projects, args.concurrency, args.completions // projects,
                                             separate=True)
                    cpu["bare server"] += cpu_of(server) - began
                    cpu["bare worker"] += run["worker_cpu"]
                    made["bare workflows"] += len(run["workflows"])
                    bare.add(run)
                    print(f"  engine: {args.projects} lifecycles through the application layer, 20 at a time …",
                          file=sys.stderr)
                    engine_ours.add(await run_ours(env, engine, args.projects, 20, PARTNERS, separate=True))
                    per_project = engine_ours.completions // engine_ours.projects
                    engine_bare.add(await run_baseline(env, engine, args.projects, 20, per_project, separate=True))
                print(f"starts: {args.starts} projects over HTTP, and as many bare workflows …", file=sys.stderr)
                starts = await start_costs(env, engine, base_url, tokens, [*server, web.pid, worker.pid],
                                           args.starts)  # one server process: the dev server
                if args.rounds:
                    print("on their own: clients' reads of what is open, bare workflows' starts and finishes …",
                          file=sys.stderr)
                    read = await read_costs(base_url, tokens, last_projects, [*server, web.pid, worker.pid],
                                            max(200, made["reads"] // args.rounds), args.concurrency)
                    lifecycle = await bare_lifecycle_cost(env, engine, server, max(40, made["bare workflows"]
                                                                                   // args.rounds), args.concurrency)
        finally:
            web.send_signal(signal.SIGTERM)
            web.wait(30)
            await env.shutdown()

    print()
    print(f"{'CPU per start (ms)':24}{starts[0]:12.1f}{starts[1]:12.1f}   {starts[0] / starts[1]:5.2f}×  (a project's "
          "start over HTTP, all processes; a bare workflow's start, first update and write)")
    print(f"{'  … of it the server':24}{starts[2]:12.1f}{starts[3]:12.1f}   {starts[2] / starts[3]:5.2f}×")
    if not args.rounds:
        return
    ours_cpu = (cpu["server"] + cpu["web"] + cpu["worker"]) / http.completions * 1000
    bare_cpu = (cpu["bare server"] + cpu["bare worker"]) / bare.completions * 1000
    print()
    print(f"{'':24}{'coopflow':>12}{'baseline':>12}   ratio")
    print(f"{'engine (completions/s)':24}{engine_ours.rate():12.1f}{engine_bare.rate():12.1f}   "
          + verdict("engine", engine_ours.rate() / engine_bare.rate()))
    for name, q in (("p50", .5), ("p99", .99)):
        print(f"{'HTTP ' + name + ' (ms)':24}{pct(http.latencies, q):12.1f}{pct(bare.latencies, q):12.1f}   "
              + verdict(name, pct(http.latencies, q) / pct(bare.latencies, q)))
    n, b = http.completions, bare.completions
    ours_net = ours_cpu - (made["starts"] * starts[0] + made["reads"] * read) / n
    bare_net = bare_cpu - made["bare workflows"] * lifecycle / b
    print(f"{'CPU per completion (ms)':24}{ours_net:12.1f}{bare_net:12.1f}   " + verdict("cpu", ours_net / bare_net))
    print(f"{'  … all-in (ms)':24}{ours_cpu:12.1f}{bare_cpu:12.1f}   {ours_cpu / bare_cpu:5.2f}×  (with "
          f"{made['starts']} project starts at {starts[0]:.1f} ms and {made['reads']} reads at {read:.1f} ms; "
          f"{made['bare workflows']} bare starts and finishes at {lifecycle:.1f} ms)")
    print(f"  coopflow: server {cpu['server'] / n * 1000:.1f} + web {cpu['web'] / n * 1000:.1f} + worker "
          f"{cpu['worker'] / n * 1000:.1f} ms; baseline: server {cpu['bare server'] / b * 1000:.1f} + worker "
          f"{cpu['bare worker'] / b * 1000:.1f} ms ({n} and {b} completions, concurrency {args.concurrency})")


if __name__ == "__main__":
    asyncio.run(main())
