"""Personal data over the JSON API: sealed before Temporal sees it, plain for those who may read it (each
reading noted), the person's copy for the lead, and erasure — who may, what it leaves, and that the
trail, its checkpoints and a proof made before still verify. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from domain import verify_chain
from domain.personal import is_sealed
from evidence.proofs import verify_proof
from services.app import Coopflow
from store import incidents
from store import personal as personal_store
from store.documents import FolderStorage
from store.personal import data_keys
from tests.api.conftest import OTHER_LEAD, auth
from tests.utils.app import actor
from worker import build_worker

LEAD, CARITAS, HORIZON, DIFFERENT = "stadt-dortmund", "caritas-rs", "horizon-civitas-mk", "different-and-equal-al"
NAME, BORN = "Љиљана Петровић-Krasniqi", "1991-04-02"
NEEDS = "Strehim në Shkup dhe punë; дијализа три пати неделно"
FORM = b"%PDF-1.4\n% Pelqimi i nenshkruar nga Ljiljana Petrovic\n%%EOF\n"
PLAIN = (NAME, NEEDS, "Petrović", "Krasniqi", "дијализа", "Strehim")


class Case:
    """A return referral worked over the API, its person referred to Horizon."""

    def __init__(self, http: httpx.AsyncClient, tokens: dict[str, str]) -> None:
        self.http, self.tokens, self.pid = http, tokens, ""

    async def call(self, method: str, path: str, org: str = LEAD, **kwargs: Any) -> httpx.Response:
        return await self.http.request(method, f"/api/projects/{self.pid}{path}", headers=auth(self.tokens[org]),
                                       **kwargs)

    async def complete(self, task: str, data: dict[str, Any], org: str = LEAD, outcome: str | None = None,
                       key: str | None = None) -> httpx.Response:
        headers = {**auth(self.tokens[org]), **({"Idempotency-Key": key} if key else {})}
        return await self.http.post(f"/api/projects/{self.pid}/tasks/{task}/complete", headers=headers,
                                    json={"data": data, **({"outcome": outcome} if outcome else {})})

    async def start(self) -> None:
        started = await self.http.post("/api/projects", headers=auth(self.tokens[LEAD]), json={
            "template": "return-referral", "title": "Case 2027-014", "partners": [CARITAS, HORIZON, DIFFERENT]})
        assert started.status_code == 201, started.text
        self.pid = started.json()["id"]
        assert started.json()["personal_data"] == {"status": "kept", "sealed": True}
        uploaded = await self.call("POST", "/documents", files={"file": ("Ljiljana Petrović saglasnost.pdf", FORM)},
                                   data={"task": "t1", "field": "consent_form"})
        assert uploaded.status_code == 201, uploaded.text
        self.form = uploaded.json()
        assert self.form["name"] == "Ljiljana Petrović saglasnost.pdf" and self.form["size"] == len(FORM)
        done = await self.complete("t1", {"person_name": NAME, "date_of_birth": BORN, "consent": True,
                                          "consent_on": "2026-01-04", "consent_form": {"sha256": self.form["sha256"]}},
                                   key="consent-1")
        assert done.status_code == 200, done.text
        assert done.json()["data"]["person_name"] == NAME, "the one who completes it reads it back in clear"
        assert (await self.complete("t2", {"partner": HORIZON, "needs": NEEDS})).status_code == 200

    async def task(self, org: str, task_id: str) -> dict[str, Any]:
        got = await self.call("GET", "", org)
        assert got.status_code == 200, got.text
        return next(t for t in got.json()["tasks"] if t["id"] == task_id)


def raw_rows(app: Coopflow, pid: str) -> str:
    """Every row the store keeps of the project, as the database returns it."""
    found = []
    with app.engine.connect() as conn:
        for table in ("audit_event", "task", "project", "document", "data_key", "personal_data_read", "outbox",
                      "idempotency_key"):
            column = "id" if table == "project" else "project_id"
            where = f"WHERE {column} = :p" if table != "idempotency_key" else "WHERE route LIKE :r"
            found += [repr(tuple(r)) for r in conn.execute(text(f"SELECT * FROM {table} {where}"),
                                                             {"p": pid, "r": f"%{pid}%"})]
    return "\n".join(found)


@pytest.fixture
def case(http: httpx.AsyncClient, tokens: dict[str, str]) -> Case:
    return Case(http, tokens)


async def test_sealed_before_temporal_plain_for_readers_and_every_reading_noted(app: Coopflow, case: Case):
    await case.start()
    for org in (LEAD, HORIZON, "audit-office"):
        consent = await case.task(org, "t1")
        assert consent["data"]["person_name"] == NAME and consent["data"]["date_of_birth"] == BORN, org
        assert consent["data"]["consent_form"]["name"] == "Ljiljana Petrović saglasnost.pdf", org
        assert (await case.task(org, "t2"))["data"]["needs"] == NEEDS, org
    for org in (CARITAS, DIFFERENT):  # everybody else sees what they saw before sealing: nothing of the person
        consent = await case.task(org, "t1")
        assert consent["redacted"] == ["consent_form", "date_of_birth", "person_name"], org
        assert not any(p in json.dumps(consent, ensure_ascii=False) for p in PLAIN), org

    # the trail, the read models, Temporal's history: only the sealed form; the hash covers it
    events = (await case.call("GET", "/events")).json()
    form = next(e for e in events if e["task_id"] == "t1" and e["type"] == "StepCompleted")["data"]["form"]
    assert all(is_sealed(form[k]) for k in ("person_name", "date_of_birth", "consent_form"))
    assert form["consent"] is True and form["consent_on"] == "2026-01-04", "what is not personal stays as it was"
    assert verify_chain(events)["ok"]
    stored = raw_rows(app, case.pid)
    fetched = await app.client.get_workflow_handle(f"project-{case.pid}").fetch_history()
    history = b"".join(e.SerializeToString() for e in fetched.events).decode("utf-8", "replace")
    for place, raw in (("store", stored), ("history", history)):
        for plain in (*PLAIN, BORN, "Ljiljana", case.form["name"]):
            assert plain not in raw, f"{plain!r} in the {place}"
        assert "sealed:v1:" in raw, place
    assert FORM not in b"".join(app.documents.open(case.form["sha256"]) or []), "kept sealed"

    # the document, for those who may read it
    got = await case.call("GET", f"/documents/{case.form['sha256']}", HORIZON)
    assert got.status_code == 200 and got.content == FORM and "Ljiljana" in got.headers["content-disposition"]
    assert (await case.call("GET", f"/documents/{case.form['sha256']}", CARITAS)).status_code == 404

    # who was shown what: never the values
    reads = (await case.call("GET", "/personal-data")).json()["reads"]
    by = {(r["org"], r["via"]) for r in reads}
    assert {(LEAD, "api"), (HORIZON, "api"), ("audit-office", "api")} <= by
    assert not {org for org, _ in by} & {CARITAS, DIFFERENT}, "nothing was shown to them"
    assert any(r["fields"] == ["t1.consent_form"] and r["org"] == HORIZON for r in reads), "the download too"
    assert not any(p in json.dumps(reads, ensure_ascii=False) for p in PLAIN)


async def test_a_repeated_completion_answers_as_the_first_and_its_fingerprint_is_keyed(app: Coopflow, case: Case):
    await case.start()
    again = await case.complete("t1", {"person_name": NAME, "date_of_birth": BORN, "consent": True,
                                       "consent_on": "2026-01-04", "consent_form": {"sha256": case.form["sha256"]}},
                                key="consent-1")
    assert again.status_code == 200 and again.json()["data"]["person_name"] == NAME
    other = await case.complete("t1", {"person_name": "Someone else", "consent": True, "consent_on": "2026-01-04"},
                                key="consent-1")
    assert other.status_code == 409, "another body under the same key"
    import hashlib

    with app.engine.connect() as conn:
        (fingerprint,) = conn.execute(text("SELECT fingerprint FROM idempotency_key WHERE route = :r"),
                                      {"r": f"complete {case.pid}/t1"}).one()
    request = {"data": {"person_name": NAME, "date_of_birth": BORN, "consent": True, "consent_on": "2026-01-04",
                        "consent_form": {"sha256": case.form["sha256"]}}, "outcome": None, "comment": None}
    plain = hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()
    assert fingerprint != plain, "a plain digest of the request would let anyone test a guessed name"


async def test_the_lead_gets_the_persons_copy_others_do_not(case: Case):
    await case.start()
    copy = await case.call("GET", "/personal-data")
    assert copy.status_code == 200, copy.text
    found = copy.json()
    assert found["status"] == "kept" and found["sealed"] is True
    assert {(v["task_id"], v["field"], v["value"]) for v in found["values"]} == {
        ("t1", "person_name", NAME), ("t1", "date_of_birth", BORN), ("t2", "needs", NEEDS)}
    assert found["documents"] == [{"sha256": case.form["sha256"], "name": "Ljiljana Petrović saglasnost.pdf",
                                   "task_id": "t1", "field": "consent_form"}]
    assert found["reads"][-1]["via"] == "api" or any(r["via"] == "export" for r in found["reads"])
    for org, status in ((HORIZON, 403), ("audit-office", 403), (CARITAS, 403), (OTHER_LEAD, 404)):
        assert (await case.call("GET", "/personal-data", org)).status_code == status, org


async def test_erasure_who_may_what_it_leaves_and_the_trail_still_verifies(app: Coopflow, case: Case):
    await case.start()
    before = (await case.call("GET", "/events", "audit-office")).json()
    checkpoint = app.checkpoint(actor(app, "auditor"), case.pid)["note"]
    proof = app.prove(actor(app, "auditor"), case.pid, 5, checkpoint)

    refused = {org: await case.call("POST", "/personal-data/erase", org, json={"reason": "consent withdrawn"})
               for org in (HORIZON, "audit-office", CARITAS, OTHER_LEAD)}
    assert {org: r.status_code for org, r in refused.items()} == {
        HORIZON: 403, "audit-office": 403, CARITAS: 403, OTHER_LEAD: 404}
    for body in ({}, {"reason": ""}, {"reason": "   "}):
        bad = await case.call("POST", "/personal-data/erase", json=body)
        assert bad.status_code == 422 and "reason" in json.dumps(bad.json()["error"]), body
    assert data_keys(app.engine, case.pid), "nothing was erased by a refusal"

    erased = await case.call("POST", "/personal-data/erase", json={"reason": "The person withdrew consent (Art. 7(3))"})
    assert erased.status_code == 200, erased.text
    answer = erased.json()
    assert answer["values"] == 3 and answer["documents"] == 1
    again = await case.call("POST", "/personal-data/erase", json={"reason": "clicked twice"})
    assert again.status_code == 200 and again.json() == answer, "the first erasure stands"

    project = (await case.call("GET", "")).json()
    assert project["status"] == "cancelled", "the running case was closed"
    assert project["personal_data"] == {"status": "erased", "erased_at": answer["erased_at"], "sealed": True,
                                        "erased_by": {"org": LEAD, "role": "coordinator"},
                                        "reason": "The person withdrew consent (Art. 7(3))"}
    consent = next(t for t in project["tasks"] if t["id"] == "t1")
    assert consent["data"]["person_name"] is None and consent["data"]["consent_form"] is None
    assert consent["erased_fields"] == ["consent_form", "date_of_birth", "person_name"]
    assert consent["data"]["consent"] is True
    events = (await case.call("GET", "/events", "audit-office")).json()
    assert [e["type"] for e in events[-2:]] == ["ProjectCancelled", "PersonalDataErased"]
    assert events[-1]["data"] == {"reason": "The person withdrew consent (Art. 7(3))", "values": 3, "documents": 1}
    assert events[-1]["actor"]["org"] == LEAD and events[:len(before)] == before, "the trail is as it was"

    # the trail and what was made before the erasure still verify; the values can no longer be opened
    verified = await case.call("GET", "/verify", "audit-office")
    assert verified.json()["ok"], verified.json()
    assert verify_chain(before)["ok"]
    assert verify_proof(proof, app.signer.verifier)["ok"]
    assert app.checkpoint_status(actor(app, "auditor"), case.pid)["ok"]
    assert data_keys(app.engine, case.pid) == []
    assert app.documents.open(case.form["sha256"]) is None, "the sealed document is gone"
    gone = await case.call("GET", f"/documents/{case.form['sha256']}")
    assert gone.status_code == 404 and "erased" in gone.json()["error"]["message"]

    copy = (await case.call("GET", "/personal-data")).json()
    assert copy["status"] == "erased" and copy["values"] == [] and copy["documents"] == []
    assert copy["erased_at"] == answer["erased_at"] and copy["reads"], "who was shown it stays on record"


class Unremovable(FolderStorage):
    """A storage that cannot remove files (a read-only mount, an object store's outage)."""

    def delete(self, sha256: str, *, kept_before: float) -> bool:
        raise PermissionError(f"cannot remove {sha256[:12]}")


async def test_a_sealed_file_that_cannot_be_removed_leaves_the_erasure_done_and_prune_removes_it(
        app: Coopflow, http: httpx.AsyncClient, tokens: dict[str, str], document_folder: FolderStorage):
    """The erasure is committed before its files are removed: a removal that fails is logged, never taken for
    the store's refusal (no incident, the project not paused); `documents prune` removes the file later."""
    task_queue = f"tq-{uuid.uuid4()}"
    async with build_worker(app.client, app.engine, task_queue, signer=app.signer,
                            documents=Unremovable(document_folder.root)):
        app.task_queue = task_queue  # this case runs on the worker that cannot remove files
        case = Case(http, tokens)
        await case.start()
        erased = await case.call("POST", "/personal-data/erase", json={"reason": "consent withdrawn"})
        assert erased.status_code == 200, erased.text
    assert incidents(app.engine, case.pid) == [] and data_keys(app.engine, case.pid) == []
    assert (await case.call("GET", "/verify", "audit-office")).json()["ok"]
    assert app.documents.open(case.form["sha256"]) is not None, "left behind (sealed, its key gone)"
    listed = app.prune_documents(older_than_days=30, dry_run=True)
    assert [(d["sha256"], d["name"]) for d in listed if d["project_id"] == case.pid] == [
        (case.form["sha256"], "(a sealed document of an erased case)")]
    app.prune_documents(older_than_days=30)
    assert app.documents.open(case.form["sha256"]) is None


async def test_the_writes_of_personal_data_never_run_on_the_event_loop(
        app: Coopflow, case: Case, monkeypatch: pytest.MonkeyPatch):
    """A completion's checks run on the event loop for SQLite (short reads); making a subject's data key and
    noting a reading are writes, which may wait for the database's writer: always in a thread."""
    loop_thread, seen = threading.get_ident(), []
    for name in ("add_data_key", "record_read"):
        original = getattr(personal_store, name)

        def recording(*args: Any, _original: Any = original, _name: str = name, **kwargs: Any) -> Any:
            seen.append((_name, threading.get_ident()))
            return _original(*args, **kwargs)
        monkeypatch.setattr(personal_store, name, recording)
    started = await case.http.post("/api/projects", headers=auth(case.tokens[LEAD]), json={
        "template": "return-referral", "title": "Case", "partners": [CARITAS, HORIZON]})
    case.pid = started.json()["id"]
    # the case's first personal values, with no Idempotency-Key: its data key is made by the completion
    done = await case.complete("t1", {"person_name": NAME, "consent": True, "consent_on": "2026-01-04"})
    assert done.status_code == 200, done.text
    await case.task(LEAD, "t1")
    assert {name for name, _ in seen} == {"add_data_key", "record_read"}
    assert all(thread != loop_thread for _, thread in seen), seen
