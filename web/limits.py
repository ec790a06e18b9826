"""Request bodies are bounded before anything reads them (see ``domain.limits`` for the fields).

The API refuses a body over ``API_BODY_BYTES`` with 413 ``payload_too_large``. A page form may
be larger (a few long texts, for the domain to refuse field by field next to each field), up
to ``FORM_BODY_BYTES``; beyond that the page gets an empty form and ``too_large(request)``
tells it the size, so that it answers in the reader's language instead of a bare error.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_BODY_BYTES = 1024 * 1024
FORM_BODY_BYTES = 4 * 1024 * 1024
_TOO_LARGE = "coopflow.body_too_large"


class _BodyTooLarge(Exception):
    def __init__(self, size: int) -> None:
        self.size = size


def too_large(request: Request) -> int | None:
    """The size of a page's form body that was set aside for being too large, if it was."""
    size: int | None = request.scope.get(_TOO_LARGE)
    return size


class BodyLimit:
    """ASGI middleware: counts what a request sends (Content-Length or not) against its limit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        api = scope["path"].startswith("/api")
        limit = API_BODY_BYTES if api else FORM_BODY_BYTES
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            if api:
                return await _refuse(send, declared)
            scope[_TOO_LARGE] = declared
            return await self.app(scope, _empty_body, send)
        received, started = 0, False

        async def counting() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise _BodyTooLarge(received)
            return message

        async def watching(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting, watching)
        except _BodyTooLarge as error:
            if started:
                raise
            if api:
                return await _refuse(send, error.size)
            scope[_TOO_LARGE] = error.size
            await self.app(scope, _empty_body, send)


async def _empty_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, size: int) -> None:
    from web.errors import envelope

    response = envelope(413, "payload_too_large",
                        f"The request body is too large ({size // 1024} KB; at most {API_BODY_BYTES // 1024} KB). "
                        "Shorten the longest texts; documents are uploaded as files, not in JSON.",
                        {"limit_bytes": API_BODY_BYTES})
    await response({"type": "http"}, _empty_body, send)  # type: ignore[arg-type]


def form_limits() -> dict[str, Any]:
    """Arguments for ``request.form()``: a field may be as large as the whole form may be."""
    return {"max_part_size": FORM_BODY_BYTES}
