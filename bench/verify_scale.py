"""What verification costs on a large store: the auditor's landing page (pages 1 and 40), a 2,000-event
project's audit page with ?verify=1, and `coopflow audit verify --all` (wall time and peak memory).

    python bench/verify_scale.py [--db sqlite:////tmp/coopflow-verify.db] [--projects 300] [--copies 18]
                                 [--reuse] [--repeat 20] [--code DIR]

The store: ``--projects`` projects built through the product's own code by ``bench/large_store.py``'s
``build`` (the domain's decide/fold, record_batch, signed checkpoints), then each trail copied ``--copies``
times under new project ids by SQL (the chain does not cover the project id; each copy's checkpoints are
signed again for its own origin): 300 × 19 is about a million events in minutes instead of an hour.

``--code DIR`` runs the CLI from another checkout of the code (e.g. `git archive main` unpacked, with this
store stamped to its schema) for the figures before a change; the pages are timed in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text
from sqlalchemy.engine import Engine

from bench.large_store_timing import cpu_used
from evidence.notes import Checkpoint, Signer
from evidence.signing import origin
from store import make_engine, upgrade
from store.checkpoints import add_checkpoint
from store.models import ProjectPartner

KEPT = Path("/tmp/coopflow-verify-scale.json")  # the signer and the big projects, for --reuse
EVENT_COLUMNS = ("seq, type, at, actor_user, actor_org, actor_role, phase, step, task_id, data, prev_hash, hash")
PARTNERS = ProjectPartner.__tablename__
PROJECT_COLUMNS = ("template_id, template_version, lead, partners, status, phase, seq, head, started_at, "
                   "updated_at, personal_data")


def replicate(engine: Engine, signer: Signer, copies: int) -> int:
    """Copy every project's trail, project row, partners and checkpoints ``copies`` times; returns the events."""
    with engine.connect() as conn:
        base = [r[0] for r in conn.execute(text("SELECT id FROM project ORDER BY id"))]
    for k in range(1, copies + 1):
        for pid in base:
            new = f"{pid}-c{k:02d}"
            with engine.begin() as conn:
                conn.execute(text(f"INSERT INTO audit_event (project_id, {EVENT_COLUMNS}) SELECT :new, "
                                  f"{EVENT_COLUMNS} FROM audit_event WHERE project_id = :p"), {"new": new, "p": pid})
                conn.execute(text(f"INSERT INTO project (id, title, {PROJECT_COLUMNS}) SELECT :new, title || ' "
                                  f"({k})', {PROJECT_COLUMNS} FROM project WHERE id = :p"), {"new": new, "p": pid})
                conn.execute(text(f"INSERT INTO {PARTNERS} (project_id, org_id, position) SELECT :new, org_id, "
                                  f"position FROM {PARTNERS} WHERE project_id = :p"), {"new": new, "p": pid})
                kept = conn.execute(text("SELECT tree_size, root_hash, created_at FROM checkpoint WHERE "
                                         "project_id = :p"), {"p": pid}).all()
            for size, root, created in kept:
                note = signer.sign(Checkpoint(origin(signer, new), size, bytes.fromhex(root)).text())
                add_checkpoint(engine, project_id=new, tree_size=size, root_hash=root, note=note, created_at=created)
        print(f"  copy {k}/{copies} made", file=sys.stderr, flush=True)
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit_event")).scalar_one())


def verify_all(url: str, signer: Signer, code: Path) -> dict[str, Any]:
    """`coopflow audit verify --all --json` in a process of its own (``code``'s CLI): wall time, peak memory."""
    env = {**os.environ, "COOPFLOW_DATABASE_URL": url, "COOPFLOW_SIGNING_KEY": str(signer),
           "COOPFLOW_DATA_DIR": "/tmp/coopflow-verify-scale-data", "PYTHONPATH": str(code)}
    began, cpu = time.perf_counter(), cpu_used(own=False)
    done = subprocess.run([sys.executable, "-c", "import sys, cli; sys.argv = ['coopflow', 'audit', 'verify', "
                           "'--all', '--json']; cli.main()"], cwd=code, env=env, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - began, cpu_used(own=False) - cpu
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest of the processes, MB
    summary = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {"error": done.stderr[-500:]}
    return {"seconds": seconds, "cpu_seconds": cpu, "peak_mb": peak, "ok": summary.get("ok"),
            "events": summary.get("events"), "projects": summary.get("projects"),
            "progress_on_stderr": "Verifying" in done.stderr,
            **({"error": summary["error"]} if "error" in summary else {})}


def main() -> None:
    from bench.large_store import build
    from bench.large_store_timing import TARGETS, Table, _login, _nth, _timed

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite:////tmp/coopflow-verify.db")
    parser.add_argument("--projects", type=int, default=300)
    parser.add_argument("--copies", type=int, default=18)
    parser.add_argument("--reuse", action="store_true", help="time the store an earlier run built at --db")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="the checkout whose CLI runs `audit verify --all` (default: this one)")
    args = parser.parse_args()
    engine = make_engine(args.db)
    if args.reuse:
        saved = json.loads(KEPT.read_text())
        signer, big = Signer.parse(saved["signer"]), saved["big"]
    else:
        if args.db.startswith("sqlite:///"):
            engine.dispose()
            Path(args.db.removeprefix("sqlite:///")).unlink(missing_ok=True)
            engine = make_engine(args.db)
        began = time.perf_counter()
        built = build(engine, projects=args.projects)
        signer, big = built.signer, built.big
        KEPT.write_text(json.dumps({"signer": str(signer), "big": big}))
        events = replicate(engine, signer, args.copies)
        print(f"built {args.projects} projects × {args.copies + 1}: {events} events in "
              f"{time.perf_counter() - began:.0f} s", flush=True)
    if args.code == Path(__file__).resolve().parent.parent:
        upgrade(engine)
    table = Table()
    result = verify_all(args.db, signer, args.code)  # first: it keeps every trail's check, as the daily job does
    print(f"audit verify --all: {result}", flush=True)
    asyncio.run(pages(engine, signer, big[0], args.repeat, table, _login, _nth, _timed, TARGETS))
    table.rows.append((f"audit verify --all ({result['events']} events; peak RSS {result['peak_mb']:.0f} MB)",
                       result["seconds"] * 1000, result["seconds"] * 1000, result["cpu_seconds"] * 1000, "",
                       TARGETS["verify_all"]))
    table.print()


async def pages(engine: Engine, signer: Signer, big: str, repeat: int, table: Any, login: Any, nth: Any,
                timed: Any, targets: dict[str, str]) -> None:
    import httpx

    from bench.large_store import AUDIT_ORG, PASSWORD, email
    from services.app import Coopflow
    from web.app import create_app

    app = Coopflow(engine=engine, client=None, task_queue="bench", signer=signer)  # type: ignore[arg-type]
    web = create_app(coopflow=app, secret="bench-secret")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://bench") as auditor:
        await login(auditor, email(AUDIT_ORG), PASSWORD)
        with engine.connect() as conn:
            events = conn.execute(text("SELECT count(*) FROM audit_event WHERE project_id = :p"), {"p": big}).scalar()
        for what, url in [("auditor landing page 1", "/inbox"),
                          ("auditor landing page 40", await nth(auditor, "/inbox", 40)),
                          (f"audit page ?verify=1 ({events} events)", f"/projects/{big}/audit?verify=1"),
                          ("audit page (no verify)", f"/projects/{big}/audit")]:
            times, cpu, size = [], [], 0
            for _ in range(repeat):
                began, used = time.perf_counter(), time.process_time()
                answer = await auditor.get(url)
                times.append(time.perf_counter() - began)
                cpu.append(time.process_time() - used)
                assert answer.status_code == 200, answer.text[:300]
                size = len(answer.content)
            table.add(what, times, size, targets["audit" if "audit" in what else "landing"], cpu)


if __name__ == "__main__":
    main()
