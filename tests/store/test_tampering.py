"""Every kind of tampering with a stored trail is caught, with the seq where it happened."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from domain import Actor, chain_hash, summary_view, task_view
from services.app import Coopflow
from store import iter_events, record_batch
from tests.utils.domain import Project
from tests.utils.tamper import tamper

AUDITOR = Actor(user="u-auditor", org="audit-office", role="auditor")


def stored_project(engine: Engine) -> tuple[str, int]:
    p = Project(parameters={"report_count": 1})
    p.play(loops=True)
    pid = f"t-{uuid.uuid4().hex[:10]}"
    p.state = p.state.model_copy(update={"id": pid})
    record_batch(engine, project=summary_view(p.state), events=p.events,
                 tasks=[task_view(p.state, t) for t in p.state.tasks.values()])
    return pid, len(p.events)


def reseal(event: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in event.items() if k != "hash"}
    return {**body, "hash": chain_hash(event["prev_hash"], body)}


def rewrite(engine: Engine, pid: str, seq: int, event: dict[str, Any], new_seq: int | None = None) -> None:
    actor = event["actor"] or {}
    tamper(engine, "UPDATE audit_event SET seq = :new, type = :type, at = :at, actor_user = :u, actor_org = :o, "
           "actor_role = :r, data = :data, prev_hash = :prev, hash = :hash WHERE project_id = :p AND seq = :seq",
           p=pid, seq=seq, new=new_seq or event["seq"], type=event["type"], at=event["at"], u=actor.get("user"),
           o=actor.get("org"), r=actor.get("role"),
           data=json.dumps(event["data"], sort_keys=True, separators=(",", ":")),
           prev=event["prev_hash"], hash=event["hash"])


def change_data(engine: Engine, pid: str, events: list[dict[str, Any]]) -> dict[int, str]:
    tamper(engine, "UPDATE audit_event SET data = :d WHERE project_id = :p AND seq = 10",
           p=pid, d=json.dumps({"form": {"contribution": "nothing"}}))
    return {10: "changed"}


def change_actor(engine: Engine, pid: str, events: list[dict[str, Any]]) -> dict[int, str]:
    tamper(engine, "UPDATE audit_event SET actor_user = 'u-someone-else' WHERE project_id = :p AND seq = 12", p=pid)
    return {12: "changed"}


def change_at(engine: Engine, pid: str, events: list[dict[str, Any]]) -> dict[int, str]:
    tamper(engine, "UPDATE audit_event SET at = '2020-01-01T00:00:00.000000Z' WHERE project_id = :p AND seq = 7",
           p=pid)
    return {7: "changed"}


def delete_one(engine: Engine, pid: str, events: list[dict[str, Any]]) -> dict[int, str]:
    tamper(engine, "DELETE FROM audit_event WHERE project_id = :p AND seq = 15", p=pid)
    return {15: "missing"}


def swap_two(engine: Engine, pid: str, events: list[dict[str, Any]]) -> dict[int, str]:
    tamper(engine, "UPDATE audit_event SET seq = -1 WHERE project_id = :p AND seq = 20", p=pid)
    tamper(engine, "UPDATE audit_event SET seq = 20 WHERE project_id = :p AND seq = 21", p=pid)
    tamper(engine, "UPDATE audit_event SET seq = 21 WHERE project_id = :p AND seq = -1", p=pid)
    return {20: "out of order", 21: "changed"}


def insert_forged(engine: Engine, pid: str, events: list[dict[str, Any]]) -> dict[int, str]:
    """A forger who knows the algorithm inserts a well-sealed event at 9 and renumbers the rest."""
    for seq in range(len(events), 8, -1):
        tamper(engine, "UPDATE audit_event SET seq = :n WHERE project_id = :p AND seq = :s", p=pid, s=seq, n=seq + 1)
    forged = reseal({**events[8], "seq": 9, "type": "DecisionRecorded", "prev_hash": events[7]["hash"],
                     "data": {"form": {}, "outcome": "approved"}})
    tamper(engine, "INSERT INTO audit_event (project_id, seq, type, at, actor_user, actor_org, actor_role, phase, "
           "step, task_id, data, prev_hash, hash) VALUES (:p, 9, :t, :at, 'u-forger', 'stadt-dortmund', "
           "'coordinator', NULL, NULL, NULL, :d, :prev, :h)", p=pid, t=forged["type"], at=forged["at"],
           d=json.dumps(forged["data"]), prev=forged["prev_hash"], h=reseal({**forged, "actor": {
               "user": "u-forger", "org": "stadt-dortmund", "role": "coordinator"}, "phase": None, "step": None,
               "task_id": None})["hash"])
    return {9: "inserted"}


def append_sealed(engine: Engine, pid: str, events: list[dict[str, Any]]) -> dict[int, str]:
    """A well-sealed event appended at the end: only the project's recorded head betrays it."""
    last = events[-1]
    forged = reseal({**last, "seq": last["seq"] + 1, "prev_hash": last["hash"], "type": "StepWaived"})
    rewrite_insert = {**forged}
    tamper(engine, "INSERT INTO audit_event (project_id, seq, type, at, data, prev_hash, hash, actor_user, "
           "actor_org, actor_role, phase, step, task_id) VALUES (:p, :s, :t, :at, :d, :prev, :h, :u, :o, :r, "
           ":ph, :st, :ti)", p=pid, s=forged["seq"], t=forged["type"], at=forged["at"],
           d=json.dumps(forged["data"], sort_keys=True, separators=(",", ":"), ensure_ascii=False),
           prev=forged["prev_hash"], h=rewrite_insert["hash"], u=(last["actor"] or {}).get("user"),
           o=(last["actor"] or {}).get("org"), r=(last["actor"] or {}).get("role"), ph=last["phase"],
           st=last["step"], ti=last["task_id"])
    return {last["seq"] + 1: "inserted"}


def rehash_middle(engine: Engine, pid: str, events: list[dict[str, Any]]) -> dict[int, str]:
    """Data changed and its hash recomputed: the next event's prev_hash still names the old one."""
    rewrite(engine, pid, 30, reseal({**events[29], "data": {**events[29]["data"], "comment": "backdated"}}))
    return {30: "re-hashed"}


CASES: list[Callable[[Engine, str, list[dict[str, Any]]], dict[int, str]]] = [
    change_data, change_actor, change_at, delete_one, swap_two, insert_forged, append_sealed, rehash_middle]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_tampering_is_detected_at_the_right_seq(engine: Engine, case):
    pid, count = stored_project(engine)
    app = Coopflow(engine=engine, client=None, task_queue="unused")  # type: ignore[arg-type]
    before = app.verify(AUDITOR, pid)
    assert before["ok"] and before["count"] == count

    expected = case(engine, pid, list(iter_events(engine, pid)))

    after = app.verify(AUDITOR, pid)
    assert not after["ok"]
    flagged = {p["seq"] for p in after["problems"]}
    assert min(flagged) == min(expected), after["problems"]
    for seq, word in expected.items():
        assert any(p["seq"] == seq and word in p["reason"] for p in after["problems"]), after["problems"]
