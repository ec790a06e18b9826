"""A large store built through the product's own code, then the pages and commands a deployment uses, timed.

    python bench/large_store.py [--projects 300] [--big 4] [--db sqlite:////tmp/coopflow-large.db]
                                [--repeat 20] [--reuse] [--lists-only] [--old-shape]

Most projects are simulated the way the workflow runs them: the domain's ``decide`` and ``fold`` (with
``Tick`` at each wake-up, so recurring reports open on time and missed deadlines are recorded), written with
the store's ``record_batch`` in batches, each trail signed with checkpoints as the daily job would. Each
first event names its template by digest and the text is kept once in the store, as for projects started since
v1.4; ``--old-shape`` builds the stores of before, each first event holding its whole template (18 KB). ``--big``
of them have many partners and reports: about 2,000 events each. Then the pages and commands are timed with
the web app in-process (httpx over ASGI; Temporal is not needed for reads) and a table is printed:
what, p50, p95, size, target.

``build(engine, projects=…, seed=…)`` is importable (other benches reuse the store).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.engine import Engine

from domain import (
    Actor,
    Event,
    ProjectState,
    StartProject,
    Tick,
    decide,
    fold,
    format_time,
    next_wake,
    parse_time,
    started_state,
    summary_view,
    task_view,
)
from domain.merkle import heads_at, trail_leaves
from evidence.notes import Checkpoint, Signer
from evidence.signing import origin
from store import accounts, make_engine, record_batch, upgrade
from store.checkpoints import add_checkpoint
from store.template_texts import keep_text
from templates import TemplateRegistry
from tests.utils.scenario import AUDIT_ORG, walk_move

LEADS = ["stadt-dortmund", "stadt-wien", "stadt-graz", "stadt-essen", "stadt-bochum", "stadt-linz"]
PARTNER_ORGS = ["caritas-rs", "horizon-civitas-mk", "different-and-equal-al",
                *[f"partner-{i:02d}" for i in range(1, 40)]]
PASSWORD = "coopflow-bench"
BATCH = 200  # events per record_batch: a workflow flushes a few at a time; the store does not care


def email(org: str) -> str:
    return f"{org}@bench.coopflow.example"


@dataclass
class Built:
    """What ``build`` made: the signer of its checkpoints and what to ask the pages for."""

    signer: Signer
    projects: int = 0
    events: int = 0
    tasks: int = 0
    checkpoints: int = 0
    big: list[str] = field(default_factory=list)  # the ids of the ~2,000-event projects
    seconds: float = 0.0


def simulate(project_id: str, *, lead: str, partners: list[str], started: datetime, report_count: int,
             moves: int | None, rng: random.Random, old_shape: bool = False) -> tuple[ProjectState, list[Event]]:
    """One project's life by the scripted walk: tasks completed a few hours to days apart, ticks at each
    wake-up (reports open, deadlines are missed); ``moves`` completions at most (None: to its end). Its first
    event names the template by digest, as a project started since v1.4 (``old_shape``: holds the whole
    template, as before)."""
    template = TemplateRegistry().latest("cooperation")
    coordinator = Actor(user=f"u-{lead}", org=lead, role="coordinator")
    now = started
    # as the workflow does: a first event that names its template by digest leaves it to the state to hold it
    state = ProjectState() if old_shape else started_state(template)
    events: list[Event] = []

    def run(command: Any) -> None:
        nonlocal state
        found = decide(state, command, now)
        state = fold(found, state)
        events.extend(found)

    run(StartProject(project_id=project_id, title=f"Cooperation {project_id}", template=template, lead=lead,
                     partners=partners, parameters={"report_count": report_count}, actor=coordinator,
                     digest_in_first_event=not old_shape))
    done = 0
    while state.status == "active" and (moves is None or done < moves):
        step_at = now + timedelta(hours=rng.randint(2, 120))
        move = walk_move(state, partners[0], lead=lead, on=step_at.date(), loops=rng.random() < 0.3)
        wake = next_wake(state)
        if wake is not None and (move is None or parse_time(wake) <= step_at):
            now = max(now, parse_time(wake))
            run(Tick())
            continue
        if move is None:
            break
        now = step_at
        run(move)
        done += 1
    return state, events


def _seed_orgs(engine: Engine) -> None:
    known = accounts.existing_orgs(engine, [*LEADS, *PARTNER_ORGS, AUDIT_ORG])
    for org in [*LEADS, *PARTNER_ORGS, AUDIT_ORG]:
        if org in known:
            continue
        accounts.add_org(engine, org_id=org, name=org.replace("-", " ").title(), country="DE")
        role = "auditor" if org == AUDIT_ORG else "coordinator" if org in LEADS else "partner"
        accounts.add_user(engine, email=email(org), org_id=org, role=role, name=f"Bench {role}",
                          password=PASSWORD if org in (LEADS[0], PARTNER_ORGS[0], AUDIT_ORG) else None)


def _record(engine: Engine, state: ProjectState, events: list[Event], signer: Signer, daily: int,
            rng: random.Random) -> int:
    """Write the trail in batches, the read models with the last one; checkpoints every ``daily`` events
    (the daily job's rows); returns how many checkpoints."""
    summary = summary_view(state)
    tasks = [task_view(state, t) for t in state.tasks.values()]
    if "template_ref" in events[0].data:  # the text it names, kept as the store-write activity keeps it
        assert state.template is not None
        with engine.begin() as conn:
            keep_text(conn, state.template, events[0].data["template_ref"]["digest"], events[0].at)
    for start in range(0, len(events), BATCH):
        chunk = events[start:start + BATCH]
        last = start + BATCH >= len(events)
        record_batch(engine, project={**summary, "seq": chunk[-1].seq, "head": chunk[-1].hash,
                                      "updated_at": chunk[-1].at},
                     events=chunk, tasks=tasks if last else [])
    sizes, size = [], min(len(events), daily + rng.randint(0, daily))
    while True:
        sizes.append(size)
        if size == len(events):
            break
        size = min(len(events), size + daily)
    heads = heads_at(trail_leaves([e.hash for e in events]), sizes)
    made = 0
    for size in sizes:
        note = signer.sign(Checkpoint(origin(signer, state.id), size, heads[size]).text())
        made += add_checkpoint(engine, project_id=state.id, tree_size=size, root_hash=heads[size].hex(),
                               note=note, created_at=events[size - 1].at)
    return made


def _with_first(partners: list[str]) -> list[str]:
    """The bench partner (who logs in) first: the walk's loop-backs are its."""
    return [PARTNER_ORGS[0], *partners[1:]]


def build(engine: Engine, projects: int = 300, seed: int = 1, *, big: int | None = None,
          signer: Signer | None = None, log: bool = True, old_shape: bool = False) -> Built:
    """Build ``projects`` projects (``big`` of them with ~2,000 events) in the store of ``engine`` (migrated
    here); most completed, some active at any point of their life, started over five years. ``old_shape``:
    every first event holds its whole template, as projects started before v1.4 do."""
    upgrade(engine)
    rng = random.Random(seed)
    signer = signer or Signer.generate("coopflow/bench")
    built = Built(signer=signer)
    began = time.perf_counter()
    _seed_orgs(engine)
    big = max(1, projects // 150) if big is None else big
    first = datetime(2021, 1, 4, 9, 0, tzinfo=UTC)
    for n in range(projects):
        pid = f"bench-{seed}-{n:05d}"
        lead = LEADS[n % len(LEADS)] if n % 3 else LEADS[0]
        if n < big:
            partners, reports, moves = _with_first(rng.sample(PARTNER_ORGS[1:], 10)), 21, None
        else:
            partners = rng.sample(PARTNER_ORGS[1:], rng.randint(2, 5))
            if rng.random() < 0.3:
                partners = _with_first(partners)  # the bench partner is in many projects
            reports = rng.randint(2, 12)
            moves = None if rng.random() < 0.75 else rng.randint(1, 80)  # a quarter still running
        started = first + timedelta(hours=n * 5 * 365 * 24 / max(projects, 1))
        state, events = simulate(pid, lead=lead, partners=partners, started=started, report_count=reports,
                                 moves=moves, rng=rng, old_shape=old_shape)
        built.checkpoints += _record(engine, state, events, signer, daily=30 if n < big else 15, rng=rng)
        built.projects += 1
        built.events += len(events)
        built.tasks += len(state.tasks)
        if n < big:
            built.big.append(pid)
        if log and (n + 1) % 50 == 0:
            print(f"  built {n + 1}/{projects} projects, {built.events} events "
                  f"({time.perf_counter() - began:.0f} s)", file=sys.stderr)
    built.seconds = time.perf_counter() - began
    return built


def main() -> None:
    from bench.large_store_timing import time_everything

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=300)
    parser.add_argument("--big", type=int, default=None, help="projects with ~2,000 events (default: 1 in 150)")
    parser.add_argument("--db", default="sqlite:////tmp/coopflow-large.db",
                        help="a fresh database URL (sqlite:///… or postgresql://…)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=20, help="requests per figure")
    parser.add_argument("--lists-only", action="store_true",
                        help="time the pages and lists only (not the landing page, the checkpoint job, verify --all)")
    parser.add_argument("--old-shape", action="store_true",
                        help="every first event holds its whole template, as projects started before v1.4 do")
    parser.add_argument("--reuse", action="store_true",
                        help="time the store built by an earlier run with the same --db (migrated first)")
    args = parser.parse_args()
    # the signer and the big projects' ids, for --reuse
    kept = Path("/tmp") / f"coopflow-large-{hashlib.sha256(args.db.encode()).hexdigest()[:8]}.json"
    engine = make_engine(args.db)
    if args.reuse:
        upgrade(engine)
        saved = json.loads(kept.read_text())
        built = Built(signer=Signer.parse(saved["signer"]), big=saved["big"], projects=saved["projects"],
                      events=saved["events"])
        print(f"reusing {built.projects} projects, {built.events} events")
    else:
        if args.db.startswith("sqlite:///"):
            engine.dispose()
            Path(args.db.removeprefix("sqlite:///")).unlink(missing_ok=True)
            engine = make_engine(args.db)
        built = build(engine, projects=args.projects, seed=args.seed, big=args.big, old_shape=args.old_shape)
        kept.write_text(json.dumps({"signer": str(built.signer), "big": built.big, "projects": built.projects,
                                    "events": built.events}))
        print(f"built {built.projects} projects, {built.events} events, {built.tasks} tasks, "
              f"{built.checkpoints} checkpoints in {built.seconds:.0f} s ({format_time(datetime.now(UTC))})")
    time_everything(engine, built, repeat=args.repeat, lists_only=args.lists_only)


if __name__ == "__main__":
    main()
