"""The signer checks the trail before it signs: an operator with write access to the database who rewrites
history consistently (every hash after the change recomputed, the project's recorded head too) and lets the
trail grow cannot make the next checkpoint sign the forgery; nor a rollback to fewer events. Nothing is signed,
an alarm is recorded, and `verify` names the change against every kept checkpoint."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from evidence.notes import Signer
from evidence.signing import TrailBroken, checkpoint_trail
from services.app import Coopflow
from store import iter_events
from store.checkpoints import alarms, checkpoints
from tests.store.test_tampering import AUDITOR, reseal, rewrite, stored_project
from tests.utils.tamper import tamper

SIGNER = Signer.generate("coopflow/test")


def rewrite_consistently(engine: Engine, pid: str, seq: int) -> None:
    """Change one event's data and re-seal it and every event after it, and the project's head: the chain
    holds again, as it would for a forger who knows the algorithm."""
    events = list(iter_events(engine, pid))
    prev = events[seq - 2]["hash"]
    for event in events[seq - 1:]:
        changed = {**event, "prev_hash": prev}
        if event["seq"] == seq:
            changed["data"] = {**event["data"], "comment": "backdated"}
        changed = reseal(changed)
        rewrite(engine, pid, event["seq"], changed)
        prev = changed["hash"]
    tamper(engine, "UPDATE project SET head = :h WHERE id = :p", h=prev, p=pid)


def append_one(engine: Engine, pid: str) -> None:
    """One more well-sealed event at the end (the trail grew), the project's recorded end moved with it."""
    last = list(iter_events(engine, pid))[-1]
    event = reseal({**last, "seq": last["seq"] + 1, "prev_hash": last["hash"], "type": "StepWaived"})
    actor: dict[str, Any] = event["actor"] or {}
    tamper(engine, "INSERT INTO audit_event (project_id, seq, type, at, data, prev_hash, hash, actor_user, "
           "actor_org, actor_role, phase, step, task_id) VALUES (:p, :s, :t, :at, :d, :prev, :h, :u, :o, :r, "
           ":ph, :st, :ti)", p=pid, s=event["seq"], t=event["type"], at=event["at"],
           d=json.dumps(event["data"], sort_keys=True, separators=(",", ":"), ensure_ascii=False),
           prev=event["prev_hash"], h=event["hash"], u=actor.get("user"), o=actor.get("org"), r=actor.get("role"),
           ph=event["phase"], st=event["step"], ti=event["task_id"])
    tamper(engine, "UPDATE project SET seq = :s, head = :h WHERE id = :p", s=event["seq"], h=event["hash"], p=pid)


def test_a_consistent_rewrite_is_not_signed_and_verify_names_it(engine: Engine):
    pid, count = stored_project(engine)
    first = checkpoint_trail(engine, SIGNER, pid)
    assert first["new"] and first["size"] == count
    app = Coopflow(engine=engine, client=None, task_queue="unused", signer=SIGNER)  # type: ignore[arg-type]

    rewrite_consistently(engine, pid, 12)
    append_one(engine, pid)
    chain_only = app.verify(AUDITOR, pid)
    assert [p for p in chain_only["problems"] if "checkpoint" not in p["reason"]] == [], "the chain alone is fooled"

    with pytest.raises(TrailBroken, match=rf"Nothing was signed.*seq {count}"):
        checkpoint_trail(engine, SIGNER, pid)
    assert [c["tree_size"] for c in checkpoints(engine, pid)] == [count], "no checkpoint of the forgery"
    [alarm] = alarms(engine, pid)
    assert alarm["size"] == count + 1 and "changed" in alarm["reason"]
    verified = app.verify(AUDITOR, pid)
    assert not verified["ok"]
    assert any(p["seq"] == count and "seq 1–" in p["reason"] for p in verified["problems"]), verified["problems"]


def test_a_rollback_to_fewer_events_is_not_signed(engine: Engine):
    pid, count = stored_project(engine)
    checkpoint_trail(engine, SIGNER, pid)
    tamper(engine, "DELETE FROM audit_event WHERE project_id = :p AND seq > :s", p=pid, s=count - 3)
    with pytest.raises(TrailBroken, match="missing"):
        checkpoint_trail(engine, SIGNER, pid)
    assert [c["tree_size"] for c in checkpoints(engine, pid)] == [count]


def test_a_trail_that_grew_honestly_is_signed_again(engine: Engine):
    pid, count = stored_project(engine)
    checkpoint_trail(engine, SIGNER, pid)
    append_one(engine, pid)  # the same as a real write, for the signer: a sealed event that extends the trail
    again = checkpoint_trail(engine, SIGNER, pid)
    assert again["new"] and again["size"] == count + 1
    assert alarms(engine, pid) == []
