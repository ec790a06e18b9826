"""Kept trail checks (docs/verification.md) on SQLite and PostgreSQL: they extend as the trail grows to what a
full recomputation gives, they are checked before they are used, and tampering is caught where the design says:
by every full check, and by the landing page for what changes a hash it holds on to."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from temporalio.testing import ActivityEnvironment

from activities.checkpoints import CheckpointActivities
from domain.chain_stream import head_after, unpack
from evidence.notes import Signer
from evidence.signing import checkpoint_trail, trail_head
from services.app import Coopflow
from store import iter_events
from store.checkpoints import checkpoints, latest_checkpoint
from store.trail_checks import kept_check
from tests.store.test_signer_checks_first import append_one, rewrite_consistently
from tests.store.test_tampering import AUDITOR, change_data, delete_one, stored_project
from tests.utils.tamper import tamper

SIGNER = Signer.generate("coopflow/test")


def app_for(engine: Engine) -> Coopflow:
    return Coopflow(engine=engine, client=None, task_queue="unused", signer=SIGNER)  # type: ignore[arg-type]


def hashes(engine: Engine, pid: str) -> list[str]:
    return [e["hash"] for e in iter_events(engine, pid)]


def assert_kept_is_the_trail(engine: Engine, pid: str) -> dict[str, Any]:
    kept = kept_check(engine, pid)
    assert kept is not None
    trail = hashes(engine, pid)
    assert (kept["size"], kept["head"]) == (len(trail), trail[-1])
    before = unpack(kept["frontier"])
    assert before is not None and head_after(before, kept["size"], kept["head"]) == trail_head(trail)
    return kept


def test_a_kept_check_extends_as_the_trail_grows(engine: Engine):
    pid, count = stored_project(engine)
    app = app_for(engine)
    assert app.verify(AUDITOR, pid)["ok"]
    kept = assert_kept_is_the_trail(engine, pid)
    assert kept["full_size"] == count
    for grown in range(1, 4):
        append_one(engine, pid)
        seen = app.overview_check(AUDITOR, pid)
        assert seen["chain"]["ok"] and seen["chain"]["count"] == count + grown
        assert seen["chain"]["kept"]["full_size"] == count, "extended, not checked again from the first event"
        assert_kept_is_the_trail(engine, pid)


def test_the_checkpoint_status_comes_from_the_kept_frontier(engine: Engine):
    pid, count = stored_project(engine)
    app = app_for(engine)
    checkpoint_trail(engine, SIGNER, pid)  # a full check: it keeps the trail's check at the signed size
    kept = assert_kept_is_the_trail(engine, pid)
    assert kept["checkpoint_size"] == count
    append_one(engine, pid)
    assert app.overview_check(AUDITOR, pid)["checkpoint"]["ok"]
    status = app.checkpoint_status(AUDITOR, pid)
    assert status is not None and status["ok"] and status["size"] == count
    append_one(engine, pid)
    checkpoint_trail(engine, SIGNER, pid)
    status = app.checkpoint_status(AUDITOR, pid)
    assert status is not None and status["ok"] and status["size"] == count + 2
    # the kept frontier is itself checked against the signed head: a frontier changed in the store shows
    tamper(engine, "UPDATE trail_check SET frontier = :f WHERE project_id = :p",
           f="ab" * 32 * (count + 1).bit_count(), p=pid)
    assert not app.overview_check(AUDITOR, pid)["checkpoint"]["ok"]
    assert app.verify(AUDITOR, pid)["ok"], "the trail itself holds: a full check keeps a new check"
    assert app.overview_check(AUDITOR, pid)["checkpoint"]["ok"]
    append_one(engine, pid)  # the kept check moves on past the checkpoint, which keeps its own frontier
    assert app.overview_check(AUDITOR, pid)["checkpoint"]["ok"]
    assert kept_check(engine, pid)["checkpoint_size"] == count + 2 == kept_check(engine, pid)["size"] - 1
    tamper(engine, "UPDATE trail_check SET checkpoint_frontier = :f WHERE project_id = :p",
           f="cd" * 32 * (count + 1).bit_count(), p=pid)
    assert not app.overview_check(AUDITOR, pid)["checkpoint"]["ok"]


def test_a_deleted_event_below_the_kept_seq_is_caught_by_the_landing_page(engine: Engine):
    pid, _ = stored_project(engine)
    app = app_for(engine)
    assert app.overview_check(AUDITOR, pid)["chain"]["ok"]
    delete_one(engine, pid, [])
    chain = app.overview_check(AUDITOR, pid)["chain"]
    assert not chain["ok"] and any(p["seq"] == 15 and "missing" in p["reason"] for p in chain["problems"])
    assert kept_check(engine, pid) is None, "a trail that does not hold keeps no check"


def test_a_consistent_rewrite_below_the_kept_seq_is_caught_by_the_landing_page(engine: Engine):
    pid, count = stored_project(engine)
    app = app_for(engine)
    checkpoint_trail(engine, SIGNER, pid)
    assert app.overview_check(AUDITOR, pid)["chain"]["ok"]
    rewrite_consistently(engine, pid, 12)  # every hash after it re-sealed: the chain alone holds
    seen = app.overview_check(AUDITOR, pid)
    assert not seen["chain"]["ok"] and not seen["checkpoint"]["ok"]
    assert any(p["seq"] == count and "checkpoint" in p["reason"] for p in seen["chain"]["problems"])


def test_a_kept_check_changed_in_the_store_is_not_used(engine: Engine):
    pid, _ = stored_project(engine)
    app = app_for(engine)
    app.verify(AUDITOR, pid)
    delete_one(engine, pid, [])
    tamper(engine, "UPDATE trail_check SET size = size - 1, head = (SELECT hash FROM audit_event WHERE "
           "project_id = :p AND seq = 14) WHERE project_id = :p", p=pid)
    assert not app.overview_check(AUDITOR, pid)["chain"]["ok"], "14 events lie at or below 14, not 14 - 1"


def test_a_changed_event_below_the_kept_seq_is_caught_by_every_full_check(engine: Engine):
    """An event whose contents changed while its stored hash did not: the landing page goes on from its kept
    check and does not read it again (docs/verification.md); any full check does, and from then on the landing
    page shows it too."""
    pid, _ = stored_project(engine)
    app = app_for(engine)
    assert app.overview_check(AUDITOR, pid)["chain"]["ok"]
    change_data(engine, pid, [])
    assert app.overview_check(AUDITOR, pid)["chain"]["ok"], "as documented: not read again by the landing page"
    full = app.verify(AUDITOR, pid)
    assert not full["ok"] and any(p["seq"] == 10 and "changed" in p["reason"] for p in full["problems"])
    chain = app.overview_check(AUDITOR, pid)["chain"]
    assert not chain["ok"] and any(p["seq"] == 10 for p in chain["problems"])
    summary = app.verify_all(AUDITOR, workers=1)
    assert not summary["ok"] and any(b["project"] == pid and b["problems"] == full["problems"]
                                     for b in summary["broken"])


def test_latest_checkpoint_is_the_largest(engine: Engine):
    pid, _ = stored_project(engine)
    assert latest_checkpoint(engine, pid) is None
    for _ in range(3):
        checkpoint_trail(engine, SIGNER, pid)
        append_one(engine, pid)
    kept = checkpoints(engine, pid)
    assert len(kept) == 3 and latest_checkpoint(engine, pid) == kept[-1]


@pytest.mark.parametrize("workers", [1, 2])
def test_verify_all_answers_as_verify_does(engine: Engine, workers: int):
    app = app_for(engine)
    pids = [stored_project(engine)[0] for _ in range(3)]
    checkpoint_trail(engine, SIGNER, pids[0])
    delete_one(engine, pids[1], [])
    summary = app.verify_all(AUDITOR, workers=workers)
    assert set(summary) == {"ok", "projects", "events", "broken", "partly_compared"}
    broken = {b["project"]: b for b in summary["broken"]}
    assert pids[1] in broken and pids[0] not in broken and pids[2] not in broken
    alone = app.verify(AUDITOR, pids[1])
    assert {k: v for k, v in broken[pids[1]].items() if k not in ("project", "title")} == alone
    assert_kept_is_the_trail(engine, pids[0])
    assert kept_check(engine, pids[0])["checkpoint_size"] == len(hashes(engine, pids[0]))


def test_the_daily_job_adds_no_checkpoint_for_a_trail_that_did_not_grow(engine: Engine):
    pid, count = stored_project(engine)
    with engine.begin() as conn:  # as if still running (the stored project played to its end)
        conn.execute(text("UPDATE project SET status = 'active' WHERE id = :p"), {"p": pid})
    job = CheckpointActivities(engine, SIGNER)
    ActivityEnvironment().run(job.checkpoint_active_projects)
    assert [c["tree_size"] for c in checkpoints(engine, pid)] == [count]
    ActivityEnvironment().run(job.checkpoint_active_projects)
    assert [c["tree_size"] for c in checkpoints(engine, pid)] == [count], "no row for a trail that did not grow"
    append_one(engine, pid)
    ActivityEnvironment().run(job.checkpoint_active_projects)
    assert [c["tree_size"] for c in checkpoints(engine, pid)] == [count, count + 1]
    assert kept_check(engine, pid)["checkpoint_size"] == count + 1
