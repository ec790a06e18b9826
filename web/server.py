"""Serving the web app with uvicorn inside our own event loop (beside a worker in `coopflow dev`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Generator

import uvicorn
from fastapi import FastAPI

from domain import InvalidRequest
from services.devstack import port_in_use


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the caller handles Ctrl-C and stops every part in order


async def serve(app: FastAPI, host: str, port: int, stop: asyncio.Event,
                ready: Callable[[], None] | None = None) -> None:
    """Serve until ``stop`` is set; ``ready`` is called once the port accepts requests."""
    if port_in_use(port):
        raise InvalidRequest(f"Port {port} is in use: choose another one with --port.")
    server = _Server(uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False,
                                    timeout_graceful_shutdown=5, http="httptools"))
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    if ready is not None and server.started:
        ready()
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    await task
    stopped.cancel()
