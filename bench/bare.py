"""The baseline: bare Temporal doing what a project does — updates that each await an activity
writing a row to the store — with no domain logic at all.

``touch`` writes through a regular activity, as coopflow does (the write runs after the workflow
task that scheduled it committed); ``touch_local`` through a local activity, as coopflow did
before v1.2 — faster, and the reference for what that durability costs."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from sqlalchemy import text
    from sqlalchemy.engine import Engine


class BareActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="bare_write")
    def write(self, key: str) -> None:
        from store.db import writer_lock  # SQLite takes one writer at a time, as in coopflow's own writes

        with writer_lock(self._engine), self._engine.begin() as conn:
            conn.execute(text("INSERT INTO bare_write (k) VALUES (:k) ON CONFLICT DO NOTHING"), {"k": key})


@workflow.defn
class BareWorkflow:
    def __init__(self) -> None:
        self._done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self._done)
        await workflow.wait_condition(workflow.all_handlers_finished)

    @workflow.update
    async def touch(self, n: int) -> int:
        await workflow.execute_activity(
            "bare_write", f"{workflow.info().workflow_id}-{n}", start_to_close_timeout=timedelta(seconds=10))
        return n

    @workflow.update
    async def touch_local(self, n: int) -> int:
        await workflow.execute_local_activity(
            "bare_write", f"{workflow.info().workflow_id}-{n}", start_to_close_timeout=timedelta(seconds=30))
        return n

    @workflow.update
    async def finish(self) -> None:
        self._done = True


async def _serve(address: str, task_queue: str, database_url: str) -> None:
    """The baseline's worker in a process of its own (``--worker-process``)."""
    import asyncio
    import signal
    from concurrent.futures import ThreadPoolExecutor

    from temporalio.client import Client
    from temporalio.worker import Worker

    from store import make_engine
    from worker import workflow_runner

    client = await Client.connect(address)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with Worker(client, task_queue=task_queue, workflows=[BareWorkflow],
                      activities=[BareActivities(make_engine(database_url)).write], max_concurrent_activities=16,
                      activity_executor=ThreadPoolExecutor(16), workflow_runner=workflow_runner()):
        print('{"status": "running"}', flush=True)
        await stop.wait()


if __name__ == "__main__":
    import asyncio
    import os
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.bare import _serve as serve  # the workflow must come from an importable module

    asyncio.run(serve(*sys.argv[1:4]))
    sys.stdout.flush()
    sys.stderr.flush()
    # end as `coopflow` does (cli.main): the Temporal runtime can crash at interpreter exit (sdk-python #300),
    # which aborted this process now and then once its measured work was over ("Fatal Python error")
    os._exit(0)
