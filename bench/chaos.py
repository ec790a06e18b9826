"""Chaos: projects driven to their end over HTTP while the worker, Temporal and the store fail.

    python bench/chaos.py [--projects 100] [--clients 20] [--kill-every 5] [--store-cut 30]
                          [--temporal-kill-after N] [--store-cut-after N] [--json]

What runs: a Temporal dev server (SQLite file), one `coopflow worker` and one `coopflow web`
process, PostgreSQL for the store (a fresh database on --database-url's server) reached through a
TCP proxy that this harness runs. Concurrent clients each start a project and take it through the
whole default lifecycle over the JSON API, each request with an Idempotency-Key that they repeat
until it is answered. Meanwhile the worker goes every --kill-every seconds, in the middle of whatever
it does: SIGKILLed (a crash), and every second time told to stop with SIGTERM instead (a deploy, a
scale-down: it must finish or hand back what it holds, never leave a project paused); its
replacement is started right after the previous one went (starting Python takes seconds), so that
it already polls when the next one goes — as a deployment keeps more than one worker. The
Temporal server is SIGKILLed and restarted once, and the store's line is cut for --store-cut
seconds (the database server itself keeps running); each of the two once the clients have been
told of so many completions (by default a fifth and two fifths of the way), so that they strike
in the middle of the run however fast the machine is.

Then it checks, with the faults over: projects finished, completions a client was told of that the
store lacks (lost), tasks completed twice (doubled), broken chains, disagreements between the store
and Temporal's histories (`verify --against-history`), client errors by kind, and how long the
service took to complete anything again after each fault. Exit 1 when any count but client
errors is not 0, or when a fault did not happen.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import psycopg

from bench.chaos_stack import Stack, log
from bench.proxy import TcpProxy
from commands.common import OPERATOR
from evidence.signing import load_signer
from services.app import Coopflow
from services.seed import demo_email, seed_demo
from store import accounts, make_engine, upgrade
from tests.utils.scenario import next_move

LEAD, PARTNERS = "stadt-dortmund", ["caritas-rs", "horizon-civitas-mk", "different-and-equal-al"]


class Clients:
    """People driving projects over the API: every request repeated with its key until answered."""

    def __init__(self, url: str, tokens: dict[str, str], deadline: float) -> None:
        self.url, self.tokens, self.deadline = url, tokens, deadline
        self.errors: Counter[str] = Counter()
        self.acknowledged: list[tuple[str, str, str]] = []  # (project, task, org) a client was told of
        self.successes: list[float] = []
        self.latencies: list[tuple[float, float]] = []  # (sent, answered) of each completion, retries included
        self.projects: list[str] = []

    async def request(self, http: httpx.AsyncClient, method: str, path: str, org: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[org]}", **kwargs.pop("headers", {})}
        delay = 0.2
        while time.monotonic() < self.deadline:
            try:
                answer = await http.request(method, self.url + path, headers=headers, **kwargs)
            except httpx.HTTPError as error:
                self.errors[f"transport: {type(error).__name__}"] += 1
            else:
                if answer.status_code < 300:
                    return answer.json()
                try:
                    code = answer.json()["error"]["code"]
                except (ValueError, KeyError, TypeError):
                    code = "no error envelope"
                self.errors[f"{answer.status_code} {code}"] += 1
                if answer.status_code < 500:
                    raise RuntimeError(f"{method} {path} answered {answer.status_code}: {answer.text[:300]}")
            await asyncio.sleep(delay + random.random() * delay)
            delay = min(delay * 2, 3.0)
        raise TimeoutError(f"{method} {path} was not answered before the deadline")

    async def drive(self, http: httpx.AsyncClient, number: int) -> None:
        key = f"chaos-start-{number}-{uuid.uuid4().hex[:8]}"
        project = await self.request(http, "POST", "/api/projects", LEAD, headers={"Idempotency-Key": key}, json={
            "title": f"Chaos project {number}", "partners": PARTNERS, "parameters": {"report_count": 1}})
        pid = project["id"]
        self.projects.append(pid)
        loops = number % 4 == 0  # every fourth project takes every loop-back once
        while True:
            shown = await self.request(http, "GET", f"/api/projects/{pid}", LEAD)
            move = next_move(shown["tasks"], PARTNERS[0], loops)
            if move is None:
                return
            task, data, outcome = move
            org = "audit-office" if task["assignee"] == "auditor" else task["assignee"]
            body: dict[str, Any] = {"data": data, **({"outcome": outcome} if outcome else {})}
            sent = time.monotonic()
            done = await self.request(http, "POST", f"/api/projects/{pid}/tasks/{task['id']}/complete", org,
                                      headers={"Idempotency-Key": f"chaos-{uuid.uuid4().hex}"}, json=body)
            assert done["status"] == "completed", done
            self.acknowledged.append((pid, task["id"], org))
            self.successes.append(time.monotonic())
            self.latencies.append((sent, self.successes[-1]))


async def check(app: Coopflow, clients: Clients) -> dict[str, Any]:
    """What the store and Temporal hold, once the faults are over."""
    finished, lost, doubled, broken, disagreements = 0, 0, 0, 0, []
    users = {org: accounts.user_by_email(app.engine, demo_email(org)).id for org in [LEAD, *PARTNERS, "audit-office"]}
    completions: dict[str, Counter[tuple[str, str]]] = {}
    for pid in clients.projects:
        finished += app.show_project(OPERATOR, pid)["status"] == "completed"
        events = list(app.list_events(OPERATOR, pid))
        completions[pid] = Counter((e["task_id"], e["actor"]["user"]) for e in events
                                   if e["type"] in ("StepCompleted", "DecisionRecorded"))
        doubled += sum(n - 1 for n in completions[pid].values() if n > 1)
        broken += not app.verify(OPERATOR, pid)["ok"]
        history = await app.verify_against_history(OPERATOR, pid)
        found = history["history"]["problems"]
        lost += sum(1 for p in found if str(p["reason"]).startswith("missing from the store"))
        disagreements += [{"project": pid, **p} for p in found]
    lost += sum(1 for pid, task, org in clients.acknowledged if completions[pid][(task, users[org])] == 0)
    return {"finished": finished, "lost": lost, "doubled": doubled, "broken": broken,
            "disagreements": disagreements}


def latency(stack: Stack, latencies: list[tuple[float, float]]) -> dict[str, dict[str, float]]:
    """Completion latency as a client saw it (from the first attempt to the answer, retries included): all of
    them, and those under worker kills alone (none of them overlapping Temporal's restart or the store's cut,
    which every request waits out by design)."""
    outages = [(f["at"], f["back"]) for f in stack.faults if not f["kind"].startswith("worker")]
    kills_only = [b - a for a, b in latencies if not any(a <= back and b >= at for at, back in outages)]

    def figures(values: list[float]) -> dict[str, float]:
        ordered = sorted(values) or [float("nan")]
        pick = lambda q: round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)  # noqa: E731
        return {"n": len(values), "p50": pick(0.5), "p95": pick(0.95), "p99": pick(0.99), "max": round(ordered[-1], 2)}

    return {"all": figures([b - a for a, b in latencies]), "under worker kills": figures(kills_only)}


def recovery(stack: Stack, successes: list[float]) -> dict[str, list[float]]:
    """Per kind of fault: seconds from the part being back to the next completion anyone saw."""
    found: dict[str, list[float]] = {}
    for fault in stack.faults:
        after = [t for t in successes if t >= fault["back"]]
        found.setdefault(fault["kind"], []).append(round(min(after) - fault["back"], 2) if after else float("nan"))
    return found


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=100)
    parser.add_argument("--clients", type=int, default=20, help="projects driven at the same time")
    parser.add_argument("--kill-every", type=float, default=5.0, help="seconds between worker kills")
    parser.add_argument("--temporal-kill-after", type=int, default=None,
                        help="completions acknowledged before Temporal is killed (default: projects × 5)")
    parser.add_argument("--store-cut-after", type=int, default=None,
                        help="completions acknowledged before the store is cut (default: projects × 10)")
    parser.add_argument("--store-cut", type=float, default=30.0, help="seconds the store's line stays cut")
    parser.add_argument("--deadline", type=float, default=1800.0, help="seconds before the run gives up")
    parser.add_argument("--database-url", default=os.environ.get("COOPFLOW_TEST_PG",
                                                                 "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--production-timeouts", action="store_true",
                        help="the settings' own write, workflow-task and sticky timeouts instead of shorter ones")
    parser.add_argument("--json", action="store_true", help="the summary as JSON on stdout")
    args = parser.parse_args()

    name = f"coopflow_chaos_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    direct = make_engine(args.database_url.rsplit("/", 1)[0] + f"/{name}")
    upgrade(direct)
    seed_demo(direct)
    tokens = {org: accounts.rotate_token(direct, demo_email(org)) for org in [LEAD, *PARTNERS, "audit-office"]}
    tokens["auditor"] = tokens["audit-office"]
    proxy = TcpProxy(direct.url.host or "127.0.0.1", direct.url.port or 5432)
    proxied = direct.url.set(host="127.0.0.1", port=proxy.start()).render_as_string(hide_password=False)
    tmp = Path(tempfile.mkdtemp(prefix="coopflow-chaos-"))
    stack = Stack(tmp, proxied, proxy, timeouts={} if args.production_timeouts else None)
    began = time.monotonic()
    try:
        url = await stack.start()
        log(f"stack up: web {url}, Temporal {stack.server.address}, store {name} through proxy :{proxy.port}")
        clients = Clients(url, tokens, began + args.deadline)
        semaphore = asyncio.Semaphore(args.clients)

        async def one(number: int) -> None:
            async with semaphore:
                await clients.drive(http, number)
            log(f"project {number} finished ({len(clients.acknowledged)} completions so far)")

        async def after(completions: int, job: Any) -> None:
            while len(clients.acknowledged) < completions:
                await asyncio.sleep(0.2)
            log(f"fault after {completions} completions: {job.__qualname__}")
            await job

        async def faults() -> None:
            schedule = [(args.temporal_kill_after or args.projects * 5, stack.kill_temporal()),
                        (args.store_cut_after or args.projects * 10, stack.cut_store(args.store_cut))]
            pending = [asyncio.create_task(after(count, job)) for count, job in schedule]
            try:
                for number in itertools.count():  # one every --kill-every seconds, however long the restart took
                    await asyncio.sleep(max(0.5, args.kill_every - (time.monotonic() - stack.last_kill)))
                    await stack.replace_worker(graceful=number % 2 == 1)
                    log("worker stopped (SIGTERM) and replaced" if number % 2 else "worker killed and replaced")
            finally:
                for task in pending:
                    task.cancel()

        async with httpx.AsyncClient(timeout=httpx.Timeout(60.0), limits=httpx.Limits(max_connections=200)) as http:
            chaos = [asyncio.create_task(faults()), asyncio.create_task(stack.keep_worker_alive())]
            results = await asyncio.gather(*(one(n) for n in range(1, args.projects + 1)), return_exceptions=True)
            for task in chaos:
                task.cancel()
        failures = [r for r in results if isinstance(r, BaseException)]
        for failure in failures[:5]:
            log(f"a client gave up: {failure!r}")
        elapsed = time.monotonic() - began
        log(f"clients done in {elapsed:.0f} s; checking the store against Temporal …")
        client = await stack.server.wait_ready()
        # the deployment's key (the workers made it in the data dir): the kept checkpoints are checked too
        app = Coopflow(engine=direct, client=client, task_queue="chaos",
                       signer=load_signer(signing_key="", data_dir=tmp / "data"))
        await asyncio.sleep(2)  # the last writes' answers are in; nothing is left in flight
        found = await check(app, clients)
    finally:
        stack.stop()
        proxy.stop()
        direct.dispose()
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    summary = {
        "projects": {"finished": found["finished"], "expected": args.projects},
        "completions acknowledged": len(clients.acknowledged),
        "events lost": found["lost"], "events doubled": found["doubled"], "chains broken": found["broken"],
        "store-vs-workflow disagreements": len(found["disagreements"]),
        "client errors": dict(clients.errors.most_common()),
        "recovery seconds": recovery(stack, clients.successes),
        "completion latency seconds": latency(stack, clients.latencies),
        "faults": Counter(f["kind"] for f in stack.faults), "seconds": round(elapsed, 1),
        "disagreement details": found["disagreements"][:20],
    }
    struck = summary["faults"]
    ok = (found["finished"] == args.projects and not failures
          and found["lost"] == found["doubled"] == found["broken"] == 0 and not found["disagreements"]
          and struck["Temporal killed"] == 1 and sum(n for k, n in struck.items() if k.startswith("store cut")) == 1)
    summary["ok"] = ok
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(_text(summary))
    return 0 if ok else 1


def _text(s: dict[str, Any]) -> str:
    lines = [f"projects finished          {s['projects']['finished']} / {s['projects']['expected']}",
             f"completions acknowledged   {s['completions acknowledged']}",
             f"events lost                {s['events lost']}",
             f"events doubled             {s['events doubled']}",
             f"chains broken              {s['chains broken']}",
             f"store-vs-workflow disagreements {s['store-vs-workflow disagreements']}",
             "client errors (each answered by repeating the request with its key):"]
    lines += [f"  {n:6}  {kind}" for kind, n in s["client errors"].items()] or ["  none"]
    lines.append("recovery (seconds from the part being back to the next completion):")
    for kind, values in s["recovery seconds"].items():
        lines.append(f"  {kind:<22} n={len(values):<3} mean {sum(values) / len(values):5.2f}  max {max(values):5.2f}")
    lines.append("completion latency (seconds, from the first attempt to the answer):")
    for kind, f in s["completion latency seconds"].items():
        lines.append(f"  {kind:<22} n={f['n']:<5} p50 {f['p50']:5.2f}  p95 {f['p95']:5.2f}  p99 {f['p99']:5.2f}  "
                     f"max {f['max']:5.2f}")
    lines.append(f"{'OK' if s['ok'] else 'FAILED'} in {s['seconds']} s")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
