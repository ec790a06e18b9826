"""A worker started while its store server is away: it starts degraded and says so, the workflows go on,
and their writes land once the store is back. (Before, `coopflow worker` exited with "the store cannot be
used", and a deployment ran on fewer workers for the whole cut.)"""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy.engine import Engine
from temporalio.client import Client

from bench.proxy import TcpProxy
from services.app import Coopflow
from services.sealing import KeyEncryptionKeys
from store import read
from tests.durability.conftest import FAST
from tests.utils.app import start
from tests.utils.processes import Processes


async def test_a_worker_started_without_its_store_waits_for_it(temporal_client: Client, postgresql_engine: Engine,
                                                               key_encryption_keys: KeyEncryptionKeys):
    proxy = TcpProxy("127.0.0.1", postgresql_engine.url.port or 5432)
    port = proxy.start()
    proxy.cut()
    url = postgresql_engine.url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    task_queue = f"tq-{uuid.uuid4()}"
    processes = Processes(temporal_client.service_client.config.target_host, postgresql_engine, task_queue,
                          database_url=url)
    try:
        proc, said = await asyncio.to_thread(processes.start, "worker")
        assert said["status"] == "running" and said["store"] == "unavailable"
        app = Coopflow(engine=postgresql_engine, client=temporal_client, task_queue=task_queue, update_timeout=90,
                       key_encryption_keys=key_encryption_keys, **FAST)
        starting = asyncio.create_task(start(app))
        await asyncio.sleep(3)  # the workflow runs; its first write waits for the store
        assert proc.poll() is None and not starting.done()
        proxy.mend()
        project = await starting
        assert read.get_project(postgresql_engine, project["id"])["seq"] == project["seq"] >= 1
        assert proc.poll() is None
    finally:
        processes.stop()
        proxy.stop()
