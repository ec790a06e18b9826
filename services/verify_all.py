"""`coopflow audit verify --all`, fast and in flat memory: each trail streamed from the store (never a list of
its events), its hashes computed from the stored columns (``stored_event_hash``), its kept checkpoints
compared with the tree heads taken on the way; the projects shared out over the machine's cores.

A trail this finds whole gets the same answer the full check gives (its chain holds, it ends where the project
recorded, every kept checkpoint's note is the row that keeps it and its head is the trail's at that size, no
incident is open, the template text its first event names by digest is in the store and hashes to it), and its
kept check is replaced. Any other trail goes through the full check (``verify``), so
that what is wrong is said exactly as ``audit verify PROJECT`` says it."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from sqlalchemy.engine import Engine

from domain import format_time
from domain.chain_stream import ChainStream, pack, stored_event_hash
from domain.merkle import frontier_head
from evidence.notes import Checkpoint, NoteError, split_note
from store import incidents as store_incidents
from store import make_engine
from store.checkpoints import checkpoints
from store.template_texts import first_event_problem
from store.trail_checks import stored_rows

Result = tuple[dict[str, Any], dict[str, Any]] | None  # (the check's answer, the check to keep), or: full check


def whole(engine: Engine, project: Mapping[str, Any], at: str) -> Result:
    """The streamed check of one trail; None when it is not found whole (the full check then says why)."""
    pid = project["id"]
    if store_incidents(engine, pid):
        return None
    kept = checkpoints(engine, pid)
    latest = kept[-1]["tree_size"] if kept else None
    stream = ChainStream(marks={c["tree_size"] for c in kept}, kept_at=latest)
    first = None
    for row in stored_rows(engine, pid):
        if not stream.add(row[0], row[10], row[11], stored_event_hash(*row[:12])):
            return None
        first = row[9] if row[0] == 1 else first
    if not stream.size or (stream.size, stream.head) != (project["seq"], project["head"]):
        return None
    if first is not None and first_event_problem(engine, first) is not None:
        return None  # the template text it names by digest is missing or altered
    for c in kept:
        try:
            signed = Checkpoint.parse(split_note(c["note"])[0])
        except NoteError:
            return None
        size = c["tree_size"]
        head = stream.heads.get(size) if size else frontier_head([])
        if (signed.size, signed.root.hex()) != (size, c["root_hash"]) or head != signed.root:
            return None
    answer = {"ok": True, "count": stream.size, "head": stream.head, "problems": []}
    cp = latest if latest is not None and 1 <= latest <= stream.size else None
    return answer, {"project_id": pid, "size": stream.size, "head": stream.head, "frontier": pack(stream.before_last),
                    "checkpoint_size": cp, "checkpoint_frontier": pack(stream.before_kept or []) if cp else None,
                    "full_size": stream.size, "full_at": at, "checked_at": at}


_engine: Engine | None = None


def _start(url: str) -> None:
    global _engine
    _engine = make_engine(url)


def _check_some(projects: list[dict[str, Any]], at: str) -> list[Result]:
    assert _engine is not None
    return [whole(_engine, p, at) for p in projects]


def check_all(engine: Engine, projects: list[dict[str, Any]], at: str, *, workers: int | None = None,
              progress: Callable[[int], None] | None = None) -> list[Result]:
    """``whole`` for each project, in order; over ``workers`` processes (default: one a core) when there is
    enough to share."""
    workers = workers or os.cpu_count() or 1
    chunk = 8
    if workers < 2 or len(projects) < 2 * chunk:
        found = []
        for p in projects:
            found.append(whole(engine, p, at))
            if progress:
                progress(1)
        return found
    parts = [projects[i:i + chunk] for i in range(0, len(projects), chunk)]
    url = engine.url.render_as_string(hide_password=False)
    results: list[Result] = []
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=_start,
                             initargs=(url,)) as pool:
        for part, done in zip(parts, pool.map(_check_some, parts, [at] * len(parts)), strict=True):
            results += done
            if progress:
                progress(len(part))
    return results


def now() -> str:
    from datetime import UTC, datetime

    return format_time(datetime.now(UTC))
