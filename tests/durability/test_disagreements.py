"""The verifier tells when the store and Temporal disagree, in either direction, naming the seqs."""

from __future__ import annotations

from domain import chain_hash
from services.app import Coopflow
from tests.utils.app import actor, play, start
from tests.utils.tamper import tamper


async def test_a_store_ahead_of_the_workflow_is_found(app: Coopflow):
    project = await start(app)
    pid = project["id"]
    await play(app, pid, until_step="application_submitted")
    auditor = actor(app, "auditor")
    last = list(app.list_events(auditor, pid))[-1]
    # an event appended and chained by someone who knows the algorithm, with the project row to match
    forged = {**last, "seq": last["seq"] + 1, "type": "StepWaived", "task_id": "t5", "data": {},
              "prev_hash": last["hash"]}
    forged["hash"] = chain_hash(last["hash"], {k: v for k, v in forged.items() if k != "hash"})
    actor_ = forged["actor"]
    tamper(app.engine, "INSERT INTO audit_event (project_id, seq, type, at, actor_user, actor_org, actor_role, phase, "
           "step, task_id, data, prev_hash, hash) VALUES (:p, :seq, :type, :at, :u, :o, :r, :phase, :step, :task_id, "
           "'{}', :prev_hash, :hash)", p=pid, u=actor_["user"], o=actor_["org"], r=actor_["role"],
           **{k: forged[k] for k in ("seq", "type", "at", "phase", "step", "task_id", "prev_hash", "hash")})
    tamper(app.engine, "UPDATE project SET seq = :s, head = :h WHERE id = :p", s=forged["seq"], h=forged["hash"], p=pid)
    assert app.verify(auditor, pid)["ok"], "the store alone cannot tell"
    result = await app.verify_against_history(auditor, pid)
    assert not result["ok"]
    assert {"seq": forged["seq"], "reason": "in the store, but the workflow never recorded it"} in result["problems"]


async def test_a_workflow_ahead_of_the_store_is_found(app: Coopflow):
    project = await start(app)
    pid = project["id"]
    await play(app, pid, until_step="application_submitted")
    auditor = actor(app, "auditor")
    events = list(app.list_events(auditor, pid))
    kept = events[-3]
    # the last two events removed, and the project row set back to match: a consistent truncation
    tamper(app.engine, "DELETE FROM audit_event WHERE project_id = :p AND seq > :s", p=pid, s=kept["seq"])
    tamper(app.engine, "UPDATE project SET seq = :s, head = :h WHERE id = :p", s=kept["seq"], h=kept["hash"], p=pid)
    assert app.verify(auditor, pid)["ok"], "the store alone cannot tell"
    result = await app.verify_against_history(auditor, pid)
    missing = [p for p in result["problems"] if p["seq"] in (events[-2]["seq"], events[-1]["seq"])]
    assert [p["reason"] for p in missing] == ["missing from the store: the workflow recorded it; it is lost"] * 2
    assert not result["ok"]
