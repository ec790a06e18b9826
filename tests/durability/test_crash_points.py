"""A worker killed at each point of a completion's path: the completion happens exactly once.

The points, in the order a completion passes them (see workflows/project.py):
1. ``workflow_task.kill`` / ``workflow_task.fail``: the update's workflow task has decided the
   events but Temporal has not recorded it — nothing may have been written;
2. ``write.before``: Temporal recorded the task and scheduled the write; the store is untouched;
3. ``write.after``: the store committed the events, Temporal has not heard of it;
   ``write.stop``: the worker is told to stop (SIGTERM) while the write's transaction is open;
4. the caller's answer is lost after Temporal completed the update (``test_a_lost_answer…``);
and, for the write that ends a project, ``checkpoint.before``: the write committed, its closing
checkpoint not yet signed.
"""

from __future__ import annotations

import asyncio

import pytest

from services.app import Coopflow
from store import incidents
from store.checkpoints import checkpoints
from tests.durability.conftest import Workers, assert_exactly_once
from tests.utils.app import LEAD, actor, play, start
from tests.utils.scenario import SAMPLE_DATA

pytestmark = pytest.mark.long(65)  # seconds on 2 cores: started first (tests/conftest.py)


@pytest.mark.parametrize("point", ["workflow_task.kill", "workflow_task.fail", "write.before", "write.after"])
async def test_a_worker_crash_at_each_point_completes_the_task_exactly_once(
        caller: Coopflow, workers: Workers, point: str):
    async with workers.in_process():
        project = await start(caller)
    pid, lead = project["id"], actor(caller, LEAD)
    faulty = await workers.process(faults=f"{point}:1")
    completing = asyncio.create_task(caller.complete_task(
        lead, pid, "t1", data=SAMPLE_DATA["concept_note"], request_id="first-try"))
    if point == "workflow_task.fail":  # the task fails and Temporal runs it again on the same worker
        first = await completing
    else:
        await workers.crashed(faulty)
        assert not completing.done()
        async with workers.in_process():  # another worker takes over what the dead one left
            first = await completing
    assert first["status"] == "completed" and first["id"] == "t1"
    async with workers.in_process():
        # the caller did not hear back, say, and tries again with the same key: the first answer
        assert await caller.complete_task(lead, pid, "t1", data=SAMPLE_DATA["concept_note"],
                                          request_id="first-try") == first
        events = await assert_exactly_once(caller, pid, "t1", lead.user)
        # and the project goes on: the letters of intent are open
        assert [e["step"] for e in events if e["type"] == "StepOpened"].count("letter_of_intent") == 3


async def test_a_worker_told_to_stop_mid_write_finishes_the_write_and_pauses_nothing(
        caller: Coopflow, workers: Workers):
    """A deploy or a scale-down stops a worker (SIGTERM) while a store write's transaction is open.
    The SDK cancels running activities when a worker stops: the write must not be cut off halfway,
    nor its cancellation taken for the store's refusal (an incident: the project paused until an
    operator came)."""
    async with workers.in_process():
        project = await start(caller)
    pid, lead = project["id"], actor(caller, LEAD)
    stopping = await workers.process(faults="write.stop:1")
    completing = asyncio.create_task(caller.complete_task(
        lead, pid, "t1", data=SAMPLE_DATA["concept_note"], request_id="during-a-deploy"))
    assert await asyncio.wait_for(asyncio.to_thread(stopping.wait), 60) == 0, "the worker stops cleanly"
    assert incidents(caller.engine, pid) == []
    stored = caller.list_events(actor(caller, "auditor"), pid)  # the stopping worker finished the write itself
    assert [e["type"] for e in stored if e["task_id"] == "t1"][-1] == "StepCompleted"
    async with workers.in_process():  # the next worker (after the deploy) answers the update
        first = await completing
        assert first["status"] == "completed"
        await assert_exactly_once(caller, pid, "t1", lead.user)


async def test_a_lost_answer_is_found_again_with_the_same_key(caller: Coopflow, workers: Workers):
    """The update completed in Temporal but its caller never heard (a dropped connection)."""
    async with workers.in_process():
        project = await start(caller)
        pid, lead = project["id"], actor(caller, LEAD)
        # what a web process does, cut off after Temporal answered: the update with the key in its id
        handle = caller.client.get_workflow_handle(f"project-{pid}")
        from domain import CompleteTask
        from services.updates import update_id
        from workflows import ProjectWorkflow

        command = CompleteTask(task_id="t1", actor=lead, data=SAMPLE_DATA["concept_note"], request_id="lost")
        lost = await handle.execute_update(ProjectWorkflow.complete_task, command,
                                           id=update_id("complete", lead.user, f"{pid}/t1", "lost"))
        again = await caller.complete_task(lead, pid, "t1", data=SAMPLE_DATA["concept_note"], request_id="lost")
        assert again == lost
        await assert_exactly_once(caller, pid, "t1", lead.user)


async def test_repeats_while_the_first_is_under_way_join_it(caller: Coopflow, workers: Workers):
    """Three retries with the same key while the worker is dead: one completion, one answer for all."""
    async with workers.in_process():
        project = await start(caller)
    pid, lead = project["id"], actor(caller, LEAD)
    faulty = await workers.process(faults="write.before:1")
    calls = [asyncio.create_task(caller.complete_task(lead, pid, "t1", data=SAMPLE_DATA["concept_note"],
                                                      request_id="impatient")) for _ in range(3)]
    await workers.crashed(faulty)
    async with workers.in_process():
        answers = await asyncio.gather(*calls)
        assert answers[0] == answers[1] == answers[2] and answers[0]["status"] == "completed"
        await assert_exactly_once(caller, pid, "t1", lead.user)


@pytest.mark.parametrize("point", ["checkpoint.before", "write.after"])
async def test_a_crash_around_the_closing_checkpoint_still_signs_the_ended_trail_once(
        caller: Coopflow, workers: Workers, point: str):
    """The write that ends a project is followed by its closing checkpoint, in the same activity: a
    worker killed before the checkpoint is signed (``checkpoint.before``) or after, before Temporal
    heard of the write (``write.after``), leaves the retry to write nothing twice and sign once."""
    auditor = actor(caller, "auditor")
    async with workers.in_process():
        project = await start(caller)
        pid = project["id"]
        await play(caller, pid, loops=False, until_step="audit_signoff")
    signoff = next(t for t in caller.show_project(auditor, pid)["tasks"]
                   if t["step"] == "audit_signoff" and t["status"] == "open")
    faulty = await workers.process(faults=f"{point}:1")
    completing = asyncio.create_task(caller.complete_task(
        auditor, pid, signoff["id"], data=SAMPLE_DATA["audit_signoff"], outcome="approved", request_id="sign-off"))
    await workers.crashed(faulty)
    assert not completing.done()
    async with workers.in_process():
        await completing
        events = await assert_exactly_once(caller, pid, signoff["id"], auditor.user)
    assert events[-1]["type"] == "ProjectEnded"
    assert [c["tree_size"] for c in checkpoints(caller.engine, pid)].count(len(events)) == 1, \
        "the ended trail is signed, once"
