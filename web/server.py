"""Serving the web app with uvicorn inside our own event loop (beside a worker in `coopflow dev`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator

import uvicorn
from fastapi import FastAPI

from services.devstack import port_in_use
from services.temporal import TemporalUnavailable


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the caller handles Ctrl-C and stops every part in order


async def serve(app: FastAPI, host: str, port: int, stop: asyncio.Event) -> None:
    """Serve until ``stop`` is set."""
    if port_in_use(port):
        raise TemporalUnavailable(f"Port {port} is in use: choose another one with --port.")
    server = _Server(uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False))
    task = asyncio.create_task(server.serve())
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    await task
    stopped.cancel()
