"""Signed checkpoints against an attacker who rewrites the trail and the project's head together,
inclusion proofs checked offline, and the daily checkpoint's activity."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from temporalio.testing import ActivityEnvironment

import activities.checkpoints as checkpoint_module
from activities.checkpoints import CheckpointActivities
from domain import summary_view, task_view, verify_chain
from evidence.notes import NoteError, Signer
from evidence.proofs import verify_proof
from services.app import Coopflow
from store import iter_events, record_batch
from store.checkpoints import checkpoints
from tests.store.test_tampering import AUDITOR, reseal, rewrite, stored_project
from tests.utils.domain import Project

SIGNER = Signer.generate("coopflow/test.example")


def application(engine: Engine) -> Coopflow:
    return Coopflow(engine=engine, client=None, task_queue="unused", signer=SIGNER)  # type: ignore[arg-type]


def rewrite_consistently(engine: Engine, pid: str, seq: int) -> None:
    """Change one event's data and re-seal it and every event after it, then the project's head: the chain
    is whole again, as an attacker with write access to the database would leave it."""
    events = list(iter_events(engine, pid))
    prev = events[seq - 2]["hash"]
    for event in events[seq - 1:]:
        changed = {**event, "prev_hash": prev}
        if event["seq"] == seq:
            changed["data"] = {**event["data"], "form": {"contribution": "backdated"}}
        sealed = reseal(changed)
        rewrite(engine, pid, event["seq"], sealed)
        prev = sealed["hash"]
    with engine.begin() as conn:
        conn.execute(text("UPDATE project SET head = :h WHERE id = :p"), {"h": prev, "p": pid})


def test_a_consistent_rewrite_passes_the_chain_and_fails_the_checkpoint(engine: Engine):
    pid, count = stored_project(engine)
    app = application(engine)
    signed = app.checkpoint(AUDITOR, pid)
    note, vkey = signed["note"], app.public_key()
    assert signed["size"] == count and note.startswith(f"coopflow/test.example/{pid}\n{count}\n")
    assert app.verify_with_checkpoint(AUDITOR, pid, note, vkey)["ok"]

    rewrite_consistently(engine, pid, 10)

    assert verify_chain(list(iter_events(engine, pid)))["ok"]  # the chain alone cannot tell
    verified = app.verify(AUDITOR, pid)  # but `audit verify` checks the trail against every kept checkpoint
    assert not verified["ok"] and any(p["seq"] == count and "changed" in p["reason"] for p in verified["problems"])
    after = app.verify_with_checkpoint(AUDITOR, pid, note, vkey)
    assert not after["ok"] and any("rewritten" in p["reason"] for p in after["problems"])
    status = app.checkpoint_status(AUDITOR, pid)  # the audit page's status says so too
    assert status is not None and status["ok"] is False
    with pytest.raises(NoteError, match="does not hold"):
        app.verify_with_checkpoint(AUDITOR, pid, note.replace(f"\n{count}\n", f"\n{count - 1}\n"), vkey)


def test_checkpoints_are_append_only_and_one_per_size(engine: Engine):
    pid, count = stored_project(engine)
    app = application(engine)
    first = app.checkpoint(AUDITOR, pid)
    assert first["new"] and not app.checkpoint(AUDITOR, pid)["new"]
    assert [c["tree_size"] for c in checkpoints(engine, pid)] == [count]
    for statement in ("UPDATE checkpoint SET tree_size = 1 WHERE project_id = :p",
                      "DELETE FROM checkpoint WHERE project_id = :p"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement), {"p": pid})
    assert checkpoints(engine, pid)[0]["note"] == first["note"]


def test_an_inclusion_proof_verifies_offline_and_a_changed_event_does_not(engine: Engine):
    pid, count = stored_project(engine)
    app = application(engine)
    proof = json.loads(json.dumps(app.prove(AUDITOR, pid, 7)))  # as a file would carry it
    assert proof["tree_size"] == count and proof["event"]["seq"] == 7
    assert verify_proof(proof, SIGNER.verifier)["ok"]

    changed = {**proof, "event": reseal({**proof["event"], "at": "2020-01-01T00:00:00.000000Z"})}
    assert "does not lead to the checkpoint" in verify_proof(changed, SIGNER.verifier)["problems"][0]
    unsealed = {**proof, "event": {**proof["event"], "type": "StepWaived"}}
    assert not verify_proof(unsealed, SIGNER.verifier)["ok"]
    moved = {**proof, "leaf_index": 3}
    assert not verify_proof(moved, SIGNER.verifier)["ok"]
    with pytest.raises(NoteError):
        verify_proof(proof, Signer.generate("coopflow/test.example").verifier)


def test_the_daily_activity_signs_active_projects_whose_trail_grew(engine: Engine, monkeypatch: pytest.MonkeyPatch):
    p = Project(parameters={"report_count": 1})
    p.play(loops=True, until_step="draft_agreement")
    pid = f"t-{uuid.uuid4().hex[:10]}"
    p.state = p.state.model_copy(update={"id": pid})
    record_batch(engine, project=summary_view(p.state), events=p.events,
                 tasks=[task_view(p.state, t) for t in p.state.tasks.values()])
    activities = CheckpointActivities(engine, SIGNER)
    assert ActivityEnvironment().run(activities.checkpoint_active_projects) >= 1
    assert [c["tree_size"] for c in checkpoints(engine, pid)] == [len(p.events)]
    read: list[str] = []
    signing = checkpoint_module.checkpoint_trail
    monkeypatch.setattr(checkpoint_module, "checkpoint_trail", lambda e, s, project_id: read.append(project_id)
                        or signing(e, s, project_id))
    ActivityEnvironment().run(activities.checkpoint_active_projects)
    assert len(checkpoints(engine, pid)) == 1  # nothing new: no second checkpoint
    assert pid not in read, "a trail that did not grow is not even read"



def test_a_checkpoint_by_another_key_shows_as_not_holding(engine: Engine):
    pid, count = stored_project(engine)
    application(engine).checkpoint(AUDITOR, pid)
    other = Coopflow(engine=engine, client=None, task_queue="unused",  # type: ignore[arg-type]
                     signer=Signer.generate("coopflow/test.example"))
    status = other.checkpoint_status(AUDITOR, pid)
    assert status is not None and not status["ok"] and status["size"] == count
    assert "no signature by the key" in status["problems"][0]["reason"]
