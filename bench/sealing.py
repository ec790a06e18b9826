"""What sealing personal data costs a completion, and a read, against the same work without it.

    python bench/sealing.py [--cases 40] [--repeat 400]

On the embedded stack (a Temporal dev server on SQLite, a SQLite store, a worker in this process):
1. the seal itself: one value sealed and opened (AES-256-GCM), a name and a page of text;
2. what a completion's checks cost in the web process (``_prepare_completion``: the store reads, the
   validation, and for a sealed case the data key's read and unwrap and the sealing of its values),
   for the first step of a return referral (two personal values) — in a sealed case, and in a case
   started as before sealing (the baseline: the same step, the same checks, nothing sealed);
3. a read of the project (``show_project``) by the lead: sealed (opened, the reading noted) and not;
4. whole completions through Temporal (record_consent of --cases cases each): p50 and p95.
Run it on a quiet machine (`uptime` load below 1); the ratios are taken in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from bench.throughput import embedded_stack
from domain import StartProject
from services.app import Coopflow
from services.codec import new_key, parse_keys
from services.sealing import KeyEncryptionKeys, Sealer
from services.seed import demo_email
from store.documents import FolderStorage
from worker import build_worker
from workflows import ProjectInput, ProjectWorkflow, workflow_id

PARTNERS = ["caritas-rs", "horizon-civitas-mk", "different-and-equal-al"]
CONSENT = {"person_name": "Љиљана Петровић-Krasniqi", "date_of_birth": "1991-04-02", "consent": True,
           "consent_on": "2027-01-04"}


def per_call(fn: Any, repeat: int) -> float:
    """The median of ``repeat`` calls, in microseconds."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1e6


async def start_case(app: Coopflow, sealed: bool) -> str:
    """A return referral started as today (sealed) or as before sealing (its values in clear)."""
    lead = app.actor_for_email(demo_email("stadt-dortmund"))
    if sealed:
        return str((await app.start_project(lead, title="Case", partners=PARTNERS, template="return-referral"))["id"])
    pid = uuid.uuid4().hex[:12]
    command = StartProject(project_id=pid, title="Case", template=app.templates.latest("return-referral"),
                           lead=lead.org, partners=PARTNERS, actor=lead)
    start = WithStartWorkflowOperation(
        ProjectWorkflow.run, ProjectInput(start=command), id=workflow_id(pid), task_queue=app.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
    await app.client.execute_update_with_start_workflow(ProjectWorkflow.sync, start_workflow_operation=start,
                                                       id=f"start-{pid}", rpc_timeout=timedelta(seconds=30))
    return pid


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=400)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="coopflow-bench-sealing-")
    env, engine = await embedded_stack(folder)
    keks = KeyEncryptionKeys(parse_keys(new_key("bench")), "bench")
    documents = FolderStorage(Path(folder) / "documents")
    queue = f"bench-{uuid.uuid4().hex[:6]}"
    app = Coopflow(engine=engine, client=env.client, task_queue=queue, key_encryption_keys=keks, documents=documents)
    lead = app.actor_for_email(demo_email("stadt-dortmund"))
    try:
        async with build_worker(env.client, engine, queue, documents=documents):
            print("1. the seal itself (median of", args.repeat, "calls, a warm data key)")
            sealer = Sealer(engine, keks, "bench-project")
            for label, value in (("a name", CONSENT["person_name"]), ("a page of text (2,000 chars)", "ё" * 2000)):
                token = sealer.seal("case", "t1", "x", value)
                sealing = per_call(lambda v=value: sealer.seal("case", "t1", "x", v), args.repeat)
                opening = per_call(lambda t=token: sealer.open("case", "t1", "x", t), args.repeat)
                print(f"   {label:<30} seal {sealing:7.1f} µs   open {opening:7.1f} µs")

            sealed_pid, plain_pid = await start_case(app, True), await start_case(app, False)
            print("2. a completion's checks in the web process (record_consent, 2 personal values)")
            figures = {}
            for label, pid in (("sealed", sealed_pid), ("before sealing (baseline)", plain_pid)):
                figures[label] = per_call(lambda p=pid: app._prepare_completion(
                    lead, p, "t1", dict(CONSENT), None, None, None), args.repeat)
                print(f"   {label:<30} {figures[label]:8.1f} µs")
            ratio = figures["sealed"] / figures["before sealing (baseline)"]
            print(f"   sealing adds {figures['sealed'] - figures['before sealing (baseline)']:.1f} µs ({ratio:.2f}×)")

            for pid in (sealed_pid, plain_pid):
                await app.complete_task(lead, pid, "t1", data=dict(CONSENT))
            print("3. the lead reads the project (show_project)")
            reads = {}
            for label, pid, via in (("sealed: opened, reading noted", sealed_pid, "api"),
                                    ("sealed, not shown (via None)", sealed_pid, None),
                                    ("before sealing (baseline)", plain_pid, "api")):
                reads[label] = per_call(lambda p=pid, v=via: app.show_project(lead, p, via=v), args.repeat)
                print(f"   {label:<30} {reads[label]:8.1f} µs")

            print(f"4. whole completions through Temporal ({args.cases} cases each, taking turns)")
            pids = {label: [await start_case(app, sealed) for _ in range(args.cases)]
                    for label, sealed in (("sealed", True), ("before sealing (baseline)", False))}
            latencies: dict[str, list[float]] = {label: [] for label in pids}
            for turn in range(args.cases):  # in turns: neither side gets the warmer server
                for label in pids:
                    began = time.perf_counter()
                    await app.complete_task(lead, pids[label][turn], "t1", data=dict(CONSENT), via=None)
                    latencies[label].append(time.perf_counter() - began)
            for label, found in latencies.items():
                found.sort()
                print(f"   {label:<30} p50 {statistics.median(found) * 1000:6.1f} ms   "
                      f"p95 {found[int(0.95 * (len(found) - 1))] * 1000:6.1f} ms")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
