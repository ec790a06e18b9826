"""Tracing, when configured: spans reach an OTLP/HTTP endpoint from the client's call through the
workflow to the store write."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy.engine import Engine
from temporalio.client import Client

from services.app import Coopflow
from services.devstack import free_port
from services.temporal import client_options, connect
from services.tracing import tracing
from settings import get_settings
from tests.utils.app import LEAD, actor, start
from worker import build_worker


class Collector(ThreadingHTTPServer):
    """An OTLP/HTTP receiver that keeps what it is sent."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                collector.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", free_port()), Handler)


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def test_no_endpoint_no_tracing():
    assert "interceptors" not in client_options(get_settings())


async def test_a_completion_is_traced_through_the_workflow_to_the_store_write(
        temporal_client: Client, sqlite_engine: Engine, collector: Collector):
    endpoint = f"http://127.0.0.1:{collector.server_address[1]}/v1/traces"
    settings = get_settings(temporal_address=temporal_client.service_client.config.target_host,
                            otel_endpoint=endpoint)
    client = await connect(settings)
    task_queue = f"tq-{uuid.uuid4()}"
    async with build_worker(client, sqlite_engine, task_queue):
        app = Coopflow(engine=sqlite_engine, client=client, task_queue=task_queue)
        project = await start(app)
        await app.complete_task(actor(app, LEAD), project["id"], "t1", data={
            "summary": "Pilot", "budget_eur": "1000", "duration_months": 12})
    assert tracing(endpoint)[1].force_flush(10_000)
    sent = b"".join(collector.bodies)
    for span in (b"StartWorkflow:ProjectWorkflow", b"StartWorkflowUpdate:complete_task",
                 b"HandleUpdate:complete_task", b"RunActivity:record_events"):
        assert span in sent, f"no {span.decode()} span reached the collector"
    assert b"coopflow" in sent, "the service is named"
