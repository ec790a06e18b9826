"""A worker killed at each point of an erasure's path: the personal data is erased exactly once.

On the real dev server, on SQLite and PostgreSQL. The points, in the order an erasure passes them
(workflows/project.py, activities/store_writes.py):
1. ``workflow_task.kill``: the update's workflow task decided the erasure (the running case cancelled,
   its data erased), Temporal has not recorded it — nothing is erased yet, and the retry decides afresh;
2. ``write.before``: Temporal recorded it and scheduled the write; the store is untouched;
3. ``erase.event_written``: inside the write's transaction the ``PersonalDataErased`` event is written,
   the data keys not yet destroyed — the transaction dies with the process: neither event nor lost keys;
4. ``erase.keys_destroyed``: inside the transaction the keys are destroyed, not committed: rolled back too;
5. ``write.after``: committed (the event and the keys' destruction together), Temporal not told; the
   retry writes nothing twice and removes the sealed document's file (removed already before this
   point: the test puts it back, as a crash between the commit and the removal would leave it);
6. the caller's answer is lost: a repeat of the erasure answers with the first ``erased_at``.
"""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus

from domain import ErasePersonalData, format_time
from services.app import Coopflow
from services.sealing import KeyEncryptionKeys
from services.updates import update_id
from store import iter_events, read
from store.documents import FolderStorage
from store.personal import data_keys
from tests.durability.conftest import FAST, Workers
from tests.utils.app import LEAD, PARTNERS, actor
from worker import build_worker
from workflows import ProjectWorkflow, workflow_id

pytestmark = pytest.mark.long(40)  # seconds on 2 cores: started first (tests/conftest.py)

DATA_DIR = Path(os.environ["COOPFLOW_DATA_DIR"])  # the test run's, set by tests/conftest.py
FORM = b"%PDF-1.4\n% the consent signed by Ljiljana Petrovic\n%%EOF\n"
CONSENT = {"person_name": "Ljiljana Petrović", "date_of_birth": "1991-04-02", "consent": True,
           "consent_on": "2026-01-04"}
ERASED = {"t1": ["consent_form", "date_of_birth", "person_name"], "t2": ["needs"]}  # the personal values held


@pytest.fixture
def documents() -> FolderStorage:
    """The documents' folder of the `coopflow worker` processes (the test run's data dir)."""
    return FolderStorage(DATA_DIR / "documents")


@pytest.fixture
def caller(temporal_client: Client, engine: Engine, workers: Workers, documents: FolderStorage,
           key_encryption_keys: KeyEncryptionKeys) -> Coopflow:
    """The conftest's caller, with the documents' folder the worker processes use: an upload lands there."""
    return Coopflow(engine=engine, client=temporal_client, task_queue=workers.task_queue, update_timeout=90,
                    documents=documents, key_encryption_keys=key_encryption_keys, **FAST)


@asynccontextmanager
async def worker(workers: Workers, documents: FolderStorage) -> AsyncIterator[None]:
    """``workers.in_process()``, removing an erased project's sealed documents from the same folder."""
    async with build_worker(workers.client, workers.engine, workers.task_queue, sticky_timeout=1,
                            documents=documents):
        yield


async def faulty(workers: Workers, documents: FolderStorage, point: str) -> subprocess.Popen[str]:
    """A `coopflow worker` process that dies at ``point`` in its first write: the erasure's."""
    proc, _ = await asyncio.to_thread(workers.processes.start, "worker", faults=f"{point}:1",
                                      document_dir=str(documents.root))
    return proc


async def referred(caller: Coopflow, workers: Workers, documents: FolderStorage, *, ended: bool = False
                   ) -> tuple[str, str]:
    """A return referral: the consent recorded (with its signed form, sealed) and the person referred;
    ``ended``: then cancelled. Returns the project's id and the sealed form's sha256."""
    lead = actor(caller, LEAD)
    async with worker(workers, documents):
        pid = (await caller.start_project(lead, title="Case 2027-014", template="return-referral",
                                          partners=PARTNERS))["id"]
        form = caller.upload_document(lead, pid, io.BytesIO(FORM), "consent.pdf", task_id="t1", field="consent_form")
        await caller.complete_task(lead, pid, "t1", data={**CONSENT, "consent_form": {"sha256": form["sha256"]}})
        await caller.complete_task(lead, pid, "t2", data={"partner": PARTNERS[1], "needs": "Dialysis, housing"})
        if ended:
            await caller.change_project(lead, pid, kind="cancel", reason="The person stays after all")
    return pid, form["sha256"]


def stored(caller: Coopflow, documents: FolderStorage, pid: str, sha256: str) -> dict[str, Any]:
    """What the store and the documents' folder hold of the project and its personal data."""
    project = read.get_project(caller.engine, pid, with_tasks=True)
    assert project is not None
    return {"events": list(iter_events(caller.engine, pid)), "keys": data_keys(caller.engine, pid),
            "project": project, "file": documents.open(sha256) is not None}


def brief(found: dict[str, Any]) -> dict[str, Any]:
    """``stored`` in short, for a readable difference: event types, key subjects, status, erased fields, file."""
    return {"events": [e["type"] for e in found["events"]], "keys": [k["subject"] for k in found["keys"]],
            "personal_data": found["project"]["personal_data"]["status"], "file": found["file"],
            "erased_fields": {t["id"]: t["erased_fields"] for t in found["project"]["tasks"] if t["erased_fields"]}}


def new_types(now: dict[str, Any], before: dict[str, Any]) -> list[str]:
    return [e["type"] for e in now["events"][len(before["events"]):]]


async def erase_updates(client: Client, pid: str) -> tuple[int, int]:
    """How often Temporal's history holds the erasure's update (one id per project) accepted, and completed."""
    accepted = completed = 0
    erase = update_id("erase", pid)
    for event in (await client.get_workflow_handle(workflow_id(pid)).fetch_history()).events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            meta = event.workflow_execution_update_accepted_event_attributes.accepted_request.meta
            accepted += meta.update_id == erase
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            completed += event.workflow_execution_update_completed_event_attributes.meta.update_id == erase
    return accepted, completed


async def assert_erased_once(caller: Coopflow, documents: FolderStorage, pid: str, sha256: str,
                             answer: dict[str, Any]) -> list[dict[str, Any]]:
    """One erasure everywhere: the answer and its repeat, trail, Temporal, keys, task views, document, project."""
    lead, auditor = actor(caller, LEAD), actor(caller, "auditor")
    assert set(answer) == {"erased_at", "values", "documents"} and (answer["values"], answer["documents"]) == (3, 1)
    assert await caller.erase_personal_data(lead, pid, reason="Asked again") == answer, "the first erasure stands"
    events = list(caller.list_events(auditor, pid))
    types = [e["type"] for e in events]
    assert types.count("PersonalDataErased") == 1 and types.count("ProjectCancelled") == 1, types
    assert types[-1] == "PersonalDataErased" and events[-1]["at"] == answer["erased_at"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    check = await caller.verify_against_history(auditor, pid)
    assert check["ok"] and check["history"]["available"], check["problems"]
    assert caller.verify(auditor, pid)["ok"]
    assert await erase_updates(caller.client, pid) == (1, 1)
    assert await caller.client.get_workflow_handle(workflow_id(pid)).result() == "cancelled", "erased, it ended"
    assert data_keys(caller.engine, pid) == []
    project = caller.show_project(lead, pid)
    assert project["personal_data"]["status"] == "erased", project["personal_data"]
    assert project["personal_data"]["erased_at"] == answer["erased_at"]
    for task in project["tasks"]:
        personal = [f["name"] for f in task["form"] if f.get("personal")]
        assert all((task["data"] or {}).get(name) is None for name in personal), task
        assert task["erased_fields"] == ERASED.get(task["id"], []), task
    assert documents.open(sha256) is None, "the sealed document's bytes are gone"
    return events


def restore(documents: FolderStorage, sealed: bytes) -> None:
    """Put the sealed document's file back: as if the worker had died before removing it."""
    sha256, _, staged = documents.put(io.BytesIO(sealed), len(sealed))
    documents.keep(staged, sha256)


POINTS = ["workflow_task.kill", "write.before", "erase.event_written", "erase.keys_destroyed", "write.after"]
# every point on SQLite; on PostgreSQL those where the database's transactions are what is tested (the others
# are Temporal's and the worker's alike on both): a suite of ten minutes has no room for the rest
ON_BOTH = ["erase.event_written", "erase.keys_destroyed", "write.after"]


@pytest.mark.parametrize(("engine", "point"), [*(("sqlite", p) for p in POINTS), *(("postgresql", p) for p in ON_BOTH)],
                         indirect=["engine"])
async def test_a_worker_crash_at_each_point_erases_exactly_once(
        caller: Coopflow, workers: Workers, documents: FolderStorage, point: str):
    """A running case: the erasure cancels it and erases its personal data, once, whatever the crash."""
    pid, sha256 = await referred(caller, workers, documents)
    kept = stored(caller, documents, pid, sha256)
    sealed = b"".join(documents.open(sha256) or [])
    assert kept["keys"] and kept["file"] and kept["project"]["personal_data"]["status"] == "kept"
    dying = await faulty(workers, documents, point)
    erasing = asyncio.create_task(caller.erase_personal_data(actor(caller, LEAD), pid, reason="Consent withdrawn"))
    await workers.crashed(dying)
    crashed_at = format_time(datetime.now(UTC))
    assert not erasing.done()
    recorded = point != "workflow_task.kill"  # Temporal accepted the update (and scheduled the write)
    assert await erase_updates(caller.client, pid) == (int(recorded), 0)
    now = stored(caller, documents, pid, sha256)
    if point == "write.after":  # committed together: event, keys destroyed, views emptied; the file removed
        assert new_types(now, kept)[-2:] == ["ProjectCancelled", "PersonalDataErased"]  # after StepSuperseded
        assert now["keys"] == [] and now["project"]["personal_data"]["status"] == "erased" and not now["file"]
        restore(documents, sealed)  # a crash before the removal: the retry must remove it
    else:  # nothing of the erasure in the store: a transaction open at the crash rolled back
        assert brief(now) == brief(kept)
        assert now == kept
    async with worker(workers, documents):  # another worker takes over what the dead one left
        answer = await erasing
        # decided afresh after the crash, or as Temporal had recorded it before
        assert (answer["erased_at"] > crashed_at) is not recorded, (answer["erased_at"], crashed_at)
        events = await assert_erased_once(caller, documents, pid, sha256, answer)
    if point == "write.after":
        assert events == now["events"], "the retry wrote nothing twice"


@pytest.mark.parametrize(("engine", "point"), [("sqlite", "erase.keys_destroyed"), ("postgresql", "write.after")],
                         indirect=["engine"])
async def test_an_ended_case_waits_for_its_erasure_and_a_crash_erases_it_once(
        caller: Coopflow, workers: Workers, documents: FolderStorage, point: str):
    """A case cancelled before: its workflow waits (``_keep_personal_data``); the erasure's write is its event alone."""
    pid, sha256 = await referred(caller, workers, documents, ended=True)
    kept = stored(caller, documents, pid, sha256)
    assert kept["project"]["status"] == "cancelled" and kept["project"]["personal_data"]["status"] == "kept"
    described = await caller.client.get_workflow_handle(workflow_id(pid)).describe()
    assert described.status == WorkflowExecutionStatus.RUNNING, "the ended case's workflow waits for its erasure"
    dying = await faulty(workers, documents, point)
    erasing = asyncio.create_task(caller.erase_personal_data(actor(caller, LEAD), pid, reason="Consent withdrawn"))
    await workers.crashed(dying)
    now = stored(caller, documents, pid, sha256)
    if point == "write.after":
        assert new_types(now, kept) == ["PersonalDataErased"] and now["keys"] == [] and not now["file"]
    else:
        assert brief(now) == brief(kept)
        assert now == kept
    async with worker(workers, documents):
        answer = await erasing
        events = await assert_erased_once(caller, documents, pid, sha256, answer)
    assert new_types({"events": events}, kept) == ["PersonalDataErased"], "the write holds only it"
    assert point != "write.after" or events == now["events"], "the retry wrote nothing twice"


async def test_a_lost_answer_is_the_first_erasure(caller: Coopflow, workers: Workers, documents: FolderStorage):
    """The erasure completed in Temporal but its caller never heard (a dropped connection): asked again."""
    pid, sha256 = await referred(caller, workers, documents)
    lead = actor(caller, LEAD)
    async with worker(workers, documents):
        # what a web process does, cut off after Temporal answered: the update under the erasure's id
        handle = caller.client.get_workflow_handle(workflow_id(pid))
        lost = await handle.execute_update(ProjectWorkflow.erase_personal_data,
                                           ErasePersonalData(actor=lead, reason="Consent withdrawn"),
                                           id=update_id("erase", pid))
        again = await caller.erase_personal_data(lead, pid, reason="Consent withdrawn, not having heard back")
        assert again["erased_at"] == lost["personal_data"]["erased_at"]
        await assert_erased_once(caller, documents, pid, sha256, again)
