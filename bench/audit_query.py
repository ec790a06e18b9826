"""How interactive the auditor's filters stay on a long trail.

    python bench/audit_query.py [--events 100000] [--database sqlite|postgresql]

Writes one project with N events (through the store's own write path), then times each
filter of `coopflow audit events` / GET /api/projects/{id}/events through the application
layer, against a baseline in the same run: reading the whole trail and filtering in Python.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from domain import Actor, Event, chain_hash
from services.app import Coopflow
from store import iter_events, make_engine, record_batch, upgrade

ORGS = ["stadt-dortmund", "caritas-rs", "horizon-civitas-mk", "different-and-equal-al", "audit-office"]
TYPES = ["StepOpened", "StepCompleted", "DecisionRecorded", "DeadlineMissed", "StepSuperseded"]
AUDITOR = Actor(user="u-auditor", org="audit-office", role="auditor")


def synthetic_trail(n: int) -> list[Event]:
    events, prev = [], "0" * 64
    for seq in range(1, n + 1):
        minute = seq * 7
        body = {"seq": seq, "type": TYPES[seq % len(TYPES)],
                "at": f"2027-{1 + (minute // 43200) % 12:02d}-{1 + (minute // 1440) % 28:02d}T"
                      f"{(minute // 60) % 24:02d}:{minute % 60:02d}:00.000000Z",
                "actor": {"user": f"u-{seq % 50}", "org": ORGS[seq % len(ORGS)], "role": "partner"},
                "phase": "pilot", "step": "progress_report", "task_id": f"t{seq // 3}",
                "data": {"form": {"period": f"month {seq}", "people_reached": seq % 100}}, "prev_hash": prev}
        prev = chain_hash(prev, body)
        events.append(Event(**body, hash=prev))
    return sorted(events, key=lambda e: e.seq)


def timed(label: str, fn, repeat: int = 3) -> float:
    best, count = float("inf"), 0
    for _ in range(repeat):
        began = time.perf_counter()
        count = fn()
        best = min(best, time.perf_counter() - began)
    print(f"  {label:<44} {best * 1000:9.1f} ms  ({count} events)")
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    name = f"coopflow_bench_{uuid.uuid4().hex[:8]}"
    if args.database == "postgresql":
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    else:
        url = f"sqlite:///{tmp}/audit.db"
    engine = make_engine(url)
    try:
        upgrade(engine)
        pid = "bench-" + uuid.uuid4().hex[:8]
        trail = synthetic_trail(args.events)
        project = {"id": pid, "title": "bench", "template": {"id": "cooperation", "version": 1},
                   "lead": ORGS[0], "partners": ORGS[1:4], "status": "active", "phase": "pilot",
                   "started_at": trail[0].at, "updated_at": trail[-1].at}
        began = time.perf_counter()
        for start in range(0, len(trail), 2000):
            chunk = trail[start:start + 2000]
            record_batch(engine, project={**project, "seq": chunk[-1].seq, "head": chunk[-1].hash}, events=chunk,
                         tasks=[])
        print(f"{args.database}: wrote {len(trail)} events in {time.perf_counter() - began:.1f} s")
        app = Coopflow(engine=engine, client=None, task_queue="unused")  # type: ignore[arg-type]
        mid = trail[len(trail) // 2].at
        week_end = trail[len(trail) // 2 + 1440].at
        print("baseline: the whole trail read, filtered in Python")
        base = timed("all events, then filter org=caritas-rs",
                     lambda: sum(1 for e in iter_events(engine, pid) if e["actor"]["org"] == "caritas-rs"), 1)
        print("filters (indexed, through the application layer):")
        results = [
            timed("--org caritas-rs", lambda: sum(1 for _ in app.list_events(AUDITOR, pid, org="caritas-rs"))),
            timed("--type DecisionRecorded",
                  lambda: sum(1 for _ in app.list_events(AUDITOR, pid, type="DecisionRecorded"))),
            timed("--since/--until (about one week)", lambda: sum(1 for _ in app.list_events(
                AUDITOR, pid, since=mid, until=week_end))),
            timed("first page: --type DeadlineMissed, 50 events", lambda: sum(1 for _, __ in zip(
                range(50), app.list_events(AUDITOR, pid, type="DeadlineMissed"), strict=False))),
        ]
        print(f"verify the whole chain: {timed('verify', lambda: app.verify(AUDITOR, pid)['count'], 1) * 1000:.0f} ms")
        print(f"slowest filter {max(results) * 1000:.0f} ms vs baseline {base * 1000:.0f} ms "
              f"({base / max(results):.1f}× faster)")
    finally:
        engine.dispose()
        if args.database == "postgresql":
            with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
