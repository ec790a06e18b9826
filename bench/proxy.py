"""A TCP proxy whose line can be cut: the store going away without stopping the database server.

Used by the outage tests and by ``bench/chaos.py``: the application's connections to the database
go through it; ``cut()`` drops every open connection and refuses new ones, ``mend()`` lets them
through again. It runs its own event loop in a thread, so that code which uses the database
synchronously (as the store does) can go through it from any thread, the caller's loop included.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._cut = False

    def start(self, port: int = 0) -> int:
        """Listen on 127.0.0.1 (``port``, or a free one); returns the port."""
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", port), self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    def cut(self) -> None:
        """Drop every connection now; refuse new ones until ``mend``."""
        self._run(self._cut_now)

    def mend(self) -> None:
        self._run(lambda: setattr(self, "_cut", False))

    def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._run(self._server.close)
        self._run(lambda: [task.cancel() for task in asyncio.all_tasks(self._loop)])
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self, action: object) -> None:
        done = threading.Event()

        def call() -> None:
            try:
                action()  # type: ignore[operator]
            finally:
                done.set()

        self._loop.call_soon_threadsafe(call)
        done.wait(10)

    def _cut_now(self) -> None:
        self._cut = True
        for writer in list(self._open):
            with contextlib.suppress(Exception):
                writer.transport.abort()  # type: ignore[attr-defined]
        self._open.clear()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self._cut:
            client_writer.transport.abort()  # type: ignore[attr-defined]
            return
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()  # type: ignore[attr-defined]
            return
        self._open |= {client_writer, server_writer}
        await asyncio.gather(self._pipe(client_reader, server_writer), self._pipe(server_reader, client_writer))
        self._open -= {client_writer, server_writer}

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.transport.abort()  # type: ignore[attr-defined]
