"""The witness over HTTP: ``POST /add-checkpoint`` and ``GET /<origin hash>/checkpoint``, served by uvicorn.

The submission and the monitoring prefix are both the server's root; behind a reverse proxy they may sit
under any path. Bodies past ``MAX_BODY`` are refused with 413 before they are read in full.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Callable, Generator

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain import InvalidRequest
from witness.core import Answer, Witness
from witness.request import MAX_BODY


def _response(answer: Answer) -> Response:
    # the Content-Type goes in as a header: Starlette would add "; charset=utf-8" to text/x.tlog.size
    return Response(answer.body.encode("utf-8"), status_code=answer.status,
                    headers={"content-type": answer.content_type})


def create_app(witness: Witness) -> Starlette:
    async def add_checkpoint(request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            return _response(Answer(413, f"The request is larger than {MAX_BODY} bytes.\n"))
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return _response(Answer(413, f"The request is larger than {MAX_BODY} bytes.\n"))
        # SQLite and Ed25519 block: in a thread, so that one slow disk does not stall every connection
        return _response(await run_in_threadpool(witness.add_checkpoint, bytes(body)))

    async def checkpoint(request: Request) -> Response:
        return _response(await run_in_threadpool(witness.latest, request.path_params["origin_hash"]))

    return Starlette(routes=[Route("/add-checkpoint", add_checkpoint, methods=["POST"]),
                             Route("/{origin_hash}/checkpoint", checkpoint, methods=["GET"])])


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # serve() handles Ctrl-C and SIGTERM itself, and ends with exit code 0


def check_port(host: str, port: int) -> None:
    """Refuse a port that cannot be listened on, with a sentence instead of uvicorn's exit."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise InvalidRequest(f"The witness cannot listen on {host}:{port} ({error.strerror}): "
                                 "choose another --port or --host.") from None


async def serve(witness: Witness, host: str, port: int, ready: Callable[[], None]) -> None:
    """Serve until SIGINT or SIGTERM; ``ready`` is called once the port accepts requests."""
    check_port(host, port)
    server = _Server(uvicorn.Config(create_app(witness), host=host, port=port, log_config=None, access_log=False,
                                    timeout_graceful_shutdown=5, http="httptools"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    if server.started:
        ready()
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    await task
    stopped.cancel()
