"""A minimal HTTP/1.1 client for the benches: one kept-alive connection, JSON in and out.

The baseline's client is the Temporal SDK, whose work is done in Rust; httpx costs about a
millisecond of Python per request, and on a 2-core machine where clients, web, worker and
server share the cores that CPU slows the very requests being measured. This client does only
what the benches need (Content-Length bodies, no redirects, no TLS), much as `wrk` would.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any


class LeanClient:
    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(self, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
        """Send one request; its status and decoded JSON body. Reconnects once if the server closed
        an idle connection."""
        payload = b"" if body is None else json.dumps(body).encode()
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Length: {len(payload)}\r\n"
                + ("Content-Type: application/json\r\n" if body is not None else "") + "\r\n").encode()
        for attempt in (1, 2):
            if self._streams is None:
                self._streams = await asyncio.open_connection(self._host, self._port)
            reader, writer = self._streams
            try:
                writer.write(head + payload)
                status_line = await reader.readline()
                if not status_line:
                    raise ConnectionResetError("closed")
                break
            except (ConnectionError, OSError):
                await self.close()
                if attempt == 2:
                    raise
        status = int(status_line.split()[1])
        length, close = 0, False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
            elif name == "transfer-encoding":
                raise NotImplementedError("chunked answers are not read by this client")
        data = await reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return status, json.loads(data) if data else None

    async def close(self) -> None:
        if self._streams is not None:
            writer = self._streams[1]
            self._streams = None
            writer.close()
