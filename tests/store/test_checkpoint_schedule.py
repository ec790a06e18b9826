"""The daily checkpoint on the real Temporal dev server: the schedule, a run of it, and the checkpoint
a project's end makes."""

from __future__ import annotations

import asyncio
import time

from temporalio.client import ScheduleOverlapPolicy

from evidence.proofs import check_checkpoint
from services.app import Coopflow
from services.temporal import CHECKPOINT_CRON, ensure_checkpoint_schedule
from store import iter_events
from store.checkpoints import checkpoints
from tests.utils.app import actor, play, start
from workflows.checkpoints import SCHEDULE_ID


async def test_the_schedule_is_created_once_and_a_run_signs_active_projects(app: Coopflow):
    assert await ensure_checkpoint_schedule(app.client, app.task_queue) in ("created", "updated")
    assert await ensure_checkpoint_schedule(app.client, app.task_queue) == "updated"  # idempotent
    handle = app.client.get_schedule_handle(SCHEDULE_ID)
    described = await handle.describe()
    action = described.schedule.action
    assert action.workflow == "CheckpointWorkflow" and action.task_queue == app.task_queue  # type: ignore[attr-defined]
    assert described.schedule.spec.cron_expressions == [CHECKPOINT_CRON] or described.schedule.spec.calendars

    pid = (await start(app))["id"]
    # the schedule skips a run while one is open (its policy), and a run an earlier test triggered may be
    # open still, on a task queue no worker polls any more (its worker stopped with that test); a run's
    # workflow id ends with the second it was started in, so a trigger in that same second would be
    # refused as a duplicate of the open run (failed once in a fresh-clone make test): the next second
    await asyncio.sleep(1.05 - time.time() % 1)
    await handle.trigger(overlap=ScheduleOverlapPolicy.ALLOW_ALL)
    for _ in range(300):  # it signs every active project in this store: a bound for a slow machine
        if checkpoints(app.engine, pid):
            break
        await asyncio.sleep(0.2)
    kept = checkpoints(app.engine, pid)
    assert [c["tree_size"] for c in kept] == [len(list(iter_events(app.engine, pid)))]


async def test_a_project_that_ends_is_checkpointed_at_its_last_event(app: Coopflow):
    pid = (await start(app))["id"]
    await play(app, pid, loops=False)
    events = list(iter_events(app.engine, pid))
    assert events[-1]["type"] == "ProjectEnded"
    last = checkpoints(app.engine, pid)[-1]
    assert last["tree_size"] == len(events)
    assert check_checkpoint(events, last["note"], app.signer.verifier, pid)["ok"]
    status = app.checkpoint_status(actor(app, "auditor"), pid)
    assert status is not None and status["ok"]
