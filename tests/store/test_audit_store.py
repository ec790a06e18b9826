"""The audit store on SQLite and PostgreSQL: each event exactly once, in seq order."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.engine import Engine

from domain import summary_view, task_view
from store import ChainConflict, EventFilter, iter_events, make_engine, record_batch
from store.read import get_project, open_tasks
from tests.utils.domain import PARTNERS, Project


def batch_args(p: Project, events, tasks=None):
    touched = dict.fromkeys(e.task_id for e in events if e.task_id)
    return {"project": summary_view(p.state), "events": events,
            "tasks": [task_view(p.state, p.state.tasks[t]) for t in (tasks or touched)]}


def fresh_project() -> Project:
    p = Project()
    p.state = p.state.model_copy(update={"id": f"p-{uuid.uuid4().hex[:8]}"})
    return p


def test_a_retried_batch_writes_nothing_twice(engine: Engine):
    p = fresh_project()
    pid = p.state.id
    assert record_batch(engine, **batch_args(p, p.events)) == 3
    assert record_batch(engine, **batch_args(p, p.events)) == 0  # the activity ran again
    p.play(loops=False, until_step="letter_of_intent")
    later = p.events[3:]
    assert record_batch(engine, **batch_args(p, later[:2])) == 2
    assert record_batch(engine, **batch_args(p, later)) == len(later) - 2  # overlapping retry
    stored = list(iter_events(engine, pid))
    assert [e["seq"] for e in stored] == list(range(1, len(p.events) + 1))
    assert [e["hash"] for e in stored] == [e.hash for e in p.events]
    assert stored == [e.model_dump(mode="json") for e in p.events]
    project = get_project(engine, pid)
    assert (project["status"], project["phase"], project["partners"]) == ("active", p.state.phase, PARTNERS)
    statuses = [t["status"] for t in get_project(engine, pid, with_tasks=True)["tasks"]]
    assert statuses == ["completed", "open", "open", "open"]
    assert any(t["project_id"] == pid for t in open_tasks(engine, PARTNERS[0]))


def test_a_different_event_at_a_stored_seq_is_refused(engine: Engine):
    p = fresh_project()
    record_batch(engine, **batch_args(p, p.events))
    forged = p.events[2].model_copy(update={"hash": "f" * 64})
    with pytest.raises(ChainConflict, match="seq 3 is stored with another hash"):
        record_batch(engine, **batch_args(p, [forged]))
    assert [e["hash"] for e in iter_events(engine, p.state.id)] == [e.hash for e in p.events]


def test_events_stream_in_batches(engine: Engine):
    p = fresh_project()
    p.play(loops=True)
    record_batch(engine, **batch_args(p, p.events, tasks=list(p.state.tasks)))
    streamed = list(iter_events(engine, p.state.id, batch=7))
    assert [e["seq"] for e in streamed] == list(range(1, len(p.events) + 1))
    until = p.events[10].at
    assert [e["seq"] for e in iter_events(engine, p.state.id, EventFilter(until=until))][-1] >= 11


def test_a_sqlite_store_has_a_connection_for_every_thread_that_reads_at_once(tmp_path):
    """The web reads short things on its event loop (``AppBase.read_store``): that read must not wait for a
    connection held by the web's 40 pool threads and a worker's 16 activity threads (with SQLAlchemy's
    default of 15 connections the 16th checkout here would wait 30 s and fail)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    held = [engine.connect() for _ in range(40 + 16 + 1)]
    assert held[-1].exec_driver_sql("SELECT 1").scalar() == 1
    for conn in held:
        conn.close()
