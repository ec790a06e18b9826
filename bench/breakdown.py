"""Where a task completion's time and CPU go: coopflow over HTTP against the bare baseline, in one run.

    python bench/breakdown.py [--completions 400] [--concurrency 5] [--rounds 2]

The stack, clients and baseline of bench/over_http.py (`coopflow web` and `coopflow worker` in
processes of their own; the baseline's bare update awaiting an activity that writes a row, its worker
in a process of its own). For each side it prints, per completion:

- **CPU by process**, read from Linux's /proc before and after each measured run: the Temporal
  server, coopflow's web (its requests include the clients' untimed reads of what is open) and
  worker, and the clients (this process) — the baseline's worker and client. With the cores
  saturated, latency follows the sum.
- **The steps of an update as Temporal recorded them** in every measured workflow's history
  (median, p90): the workflow task that takes the update (waiting for a worker, then running:
  dispatch, the worker's work and the answer's way back), the activity that writes the store, the
  workflow task that answers; the server's span from the first step's scheduling to the last's
  completion; and what the client measured beyond that span (for coopflow: the web's own work,
  the hop to it and back; for the baseline: the SDK client's).

Linux only (/proc). Run it on a quiet machine, like every bench here.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from bench.over_http import COOPFLOW, clients_and_settings, run_http, web_process
from bench.throughput import address_of, cpu_seconds, embedded_stack, pct, run_baseline, worker_process
from services.devstack import free_port

STEPS = [("take_wait", "update's workflow task: waiting for a worker"),
         ("take_run", "update's workflow task: running"),
         ("write_wait", "store write (activity): waiting for a worker"),
         ("write_run", "store write (activity): running"),
         ("answer_wait", "answering workflow task: waiting for a worker"),
         ("answer_run", "answering workflow task: running"),
         ("server_span", "the server's span, first step scheduled to last completed")]


def _at(event: HistoryEvent) -> float:
    return event.event_time.ToDatetime().timestamp()


def update_steps(events: list[HistoryEvent]) -> list[dict[str, float]]:
    """For each update a history accepted: how long each of its steps took (seconds)."""
    steps = []
    for index, event in enumerate(events):
        if event.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            continue
        back = index - 1  # the accepting workflow task's scheduled, started, completed events come just before
        while events[back].event_type != EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            back -= 1
        scheduled, started, completed = (_at(e) for e in events[back - 2: back + 1])
        times: dict[int, list[float]] = defaultdict(list)
        for later in events[index + 1:]:
            if later.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
                break
            times[later.event_type].append(_at(later))
        write = [times[t][:1] for t in (EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
                                        EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
                                        EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)]
        answer = [times[t][-1:] for t in (EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
                                          EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
                                          EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)]
        if not all(write) or not all(answer):
            continue  # an update that wrote nothing (or a history cut short): not this shape
        (w_sched,), (w_start,), (w_done,) = write
        (a_sched,), (a_start,), (a_done,) = answer
        steps.append({"take_wait": started - scheduled, "take_run": completed - started,
                      "write_wait": w_start - w_sched, "write_run": w_done - w_start,
                      "answer_wait": a_start - a_sched, "answer_run": a_done - a_start,
                      "server_span": a_done - scheduled})
    return steps


async def steps_of(client: Client, workflow_ids: list[str]) -> dict[str, list[float]]:
    found: dict[str, list[float]] = defaultdict(list)
    for workflow_id in workflow_ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        for update in update_steps(list(history.events)):
            for name, seconds in update.items():
                found[name].append(seconds)
    return found


def dev_server_pid(address: str) -> int:
    """The process of the dev server listening on ``address`` (the SDK does not say)."""
    wanted = ["start-dev", "--port", address.rsplit(":", 1)[1]]
    for proc in Path("/proc").iterdir():
        try:
            args = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if proc.name.isdigit() and all(a in args for a in wanted):
            return int(proc.name)
    raise RuntimeError(f"no Temporal dev server found on {address}")


class Side:
    """One side's figures, summed over the rounds."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self.latencies: list[float] = []
        self.workflows: list[str] = []
        self.completions = 0

    def add(self, run: dict[str, Any], cpu: dict[str, float], workflows: list[str]) -> None:
        self.latencies += run["latencies"]
        self.completions += run["completions"]
        self.workflows += workflows
        for process, seconds in cpu.items():
            self.cpu[process] += seconds


def report(name: str, side: Side, steps: dict[str, list[float]]) -> list[str]:
    ms = {process: seconds * 1000 / side.completions for process, seconds in side.cpu.items()}
    lines = [f"{name}: {side.completions} completions, client p50 {pct(side.latencies, .5):.1f} ms, "
             f"p99 {pct(side.latencies, .99):.1f} ms",
             "  CPU per completion: " + ", ".join(f"{p} {v:.2f} ms" for p, v in ms.items())
             + f"; total {sum(ms.values()):.2f} ms"]
    for key, label in STEPS:
        values = steps.get(key, [])
        if values:
            lines.append(f"  {label:<55} median {statistics.median(values) * 1000:6.2f} ms"
                         f"   p90 {pct(values, .9):6.2f} ms")
    if steps.get("server_span"):
        beyond = statistics.median(side.latencies) - statistics.median(steps["server_span"])
        lines.append(f"  {'beyond the server (client medians minus span medians)':<55} {beyond * 1000:6.2f} ms")
    return lines


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--completions", type=int, default=400, help="per side and round")
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2, help="each side runs this many times, in turn")
    args = parser.parse_args()
    ours, base = Side(), Side()
    with tempfile.TemporaryDirectory() as tmp:
        env, engine = await embedded_stack(tmp)
        server = dev_server_pid(address_of(env))
        tokens, settings = clients_and_settings(env, engine, tmp, "bench-breakdown")
        port = free_port()
        web = await web_process(settings, port)
        me = os.getpid()
        try:
            async with worker_process([COOPFLOW, "worker", "--json"], settings) as worker:
                url = f"http://127.0.0.1:{port}"
                await run_http(url, tokens, 40, args.concurrency)  # warm-up
                for number in range(args.rounds):
                    print(f"round {number + 1}/{args.rounds}: {args.completions} completions over HTTP and "
                          f"{args.completions} bare updates, {args.concurrency} at a time …", file=sys.stderr)
                    processes = {"server": server, "web": web.pid, "worker": worker.pid, "clients": me}
                    before = {name: cpu_seconds(pid) for name, pid in processes.items()}
                    run = await run_http(url, tokens, args.completions, args.concurrency)
                    ours.add(run, {name: cpu_seconds(pid) - before[name] for name, pid in processes.items()},
                             [f"project-{pid}" for pid in run["project_ids"]])
                    before = {name: cpu_seconds(pid) for name, pid in (("server", server), ("client", me))}
                    projects = max(args.concurrency, args.completions // 20)
                    run = await run_baseline(env, engine, projects, args.concurrency, args.completions // projects,
                                             separate=True)
                    cpu = {name: cpu_seconds(pid) - before[name] for name, pid in (("server", server), ("client", me))}
                    base.add(run, {**cpu, "worker": run["worker_cpu"]}, run["workflows"])
            print("reading the histories …", file=sys.stderr)
            ours_steps, base_steps = await steps_of(env.client, ours.workflows), await steps_of(env.client,
                                                                                                 base.workflows)
        finally:
            web.send_signal(signal.SIGTERM)
            await asyncio.to_thread(web.wait, 30)
            await env.shutdown()
    print()
    print("\n".join(report("coopflow over HTTP", ours, ours_steps)))
    print("\n".join(report("baseline (bare update + activity)", base, base_steps)))
    total = sum(ours.cpu.values()) / ours.completions / (sum(base.cpu.values()) / base.completions)
    print(f"CPU ratio {total:.2f}×; latency p50 {pct(ours.latencies, .5) / pct(base.latencies, .5):.2f}×, "
          f"p99 {pct(ours.latencies, .99) / pct(base.latencies, .99):.2f}×")


if __name__ == "__main__":
    asyncio.run(main())
