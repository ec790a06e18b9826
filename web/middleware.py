"""ASGI middleware: request bodies bounded before anything reads them, security headers on answers.

Bodies (see ``domain.limits`` for the fields):
The API refuses a body over ``API_BODY_BYTES`` with 413 ``payload_too_large``; a document upload
may be as large as ``COOPFLOW_MAX_DOCUMENT_MB`` (checked exactly as it is stored). A page form may
be larger (a few long texts, for the domain to refuse field by field next to each field), up
to ``FORM_BODY_BYTES``; beyond that the page gets an empty form and ``too_large(request)``
tells it the size, so that it answers in the reader's language instead of a bare error.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_BODY_BYTES = 1024 * 1024
FORM_BODY_BYTES = 4 * 1024 * 1024
# what is read and dropped of a body left unread before the answer goes out (beyond: the client may see
# its connection reset before it reads the answer)
LINGER_BYTES = 64 * 1024 * 1024
LINGER_SECONDS = 10.0
UPLOAD_OVERHEAD = 64 * 1024  # a multipart body's boundaries and headers around the document
_TOO_LARGE = "coopflow.body_too_large"


class _BodyTooLarge(Exception):
    pass


def too_large(request: Request) -> int | None:
    """The size of a page's form body that was set aside for being too large, if it was."""
    size: int | None = request.scope.get(_TOO_LARGE)
    return size


class BodyLimit:
    """ASGI middleware: counts what a request sends (Content-Length or chunked) against its limit.

    A body over the limit gets the refusal whatever the app made of the body cut short (FastAPI takes it
    for a body it could not decode). And before any answer goes out, what the app left unread is read and
    dropped (bounded: ``LINGER_BYTES``, ``LINGER_SECONDS``), as nginx's lingering close does: a client that
    sends its whole body before it reads (urllib, without ``Expect: 100-continue``) hears the answer instead
    of a reset connection."""

    def __init__(self, app: ASGIApp, upload_bytes: int = 20 * 1024 * 1024) -> None:
        self.app = app
        self.upload_bytes = upload_bytes + UPLOAD_OVERHEAD

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        api = scope["path"].startswith("/api")
        limit = API_BODY_BYTES if api else FORM_BODY_BYTES
        if _uploads(scope):  # a document's own limit is checked exactly where it is stored
            limit = max(limit, self.upload_bytes)
        body = _Body(scope, receive, limit)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            body.over = declared
        else:
            await body.serve(self.app, send)
        if body.over is None:
            return
        await body.drain()
        if api:
            return await _refuse(send, body.over, exact=declared == body.over)
        scope[_TOO_LARGE] = body.over
        await self.app(scope, _empty_body, send)


class _Body:
    """One request's body: counted as the app reads it, the rest read and dropped before the answer."""

    def __init__(self, scope: Scope, receive: Receive, limit: int) -> None:
        self.scope, self._receive, self.limit = scope, receive, limit
        self.received, self.read, self.done = 0, False, _content_length(scope) == 0
        self.over: int | None = None  # the size that went over the limit
        self.started = False  # the app's answer has begun to go out

    async def serve(self, app: ASGIApp, send: Send) -> None:
        """Run the app on this body; should it go over the limit, the app's answer is dropped (the caller
        answers), unless it had begun to go out."""
        async def counting() -> Message:
            message = await self._next()
            if self.received > self.limit:
                self.over = self.received
                raise _BodyTooLarge
            return message

        async def lingering(message: Message) -> None:
            if self.over is not None and not self.started:
                return
            if message["type"] == "http.response.start":
                await self.drain()
                self.started = True
            await send(message)

        try:
            await app(self.scope, counting, lingering)
        except Exception:
            if self.over is None or self.started:
                raise
        if self.started:
            self.over = None

    async def _next(self) -> Message:
        message = await self._receive()
        self.read = True
        self.received += len(message.get("body", b""))
        self.done = message["type"] != "http.request" or not message.get("more_body", False)
        return message

    async def drain(self) -> None:
        """Read and drop what is left of the body, up to ``LINGER_BYTES`` for up to ``LINGER_SECONDS``.
        Not when the client waits for ``100 Continue`` before it sends (asking for more would send it)."""
        waits = any(n == b"expect" and v.lower() == b"100-continue" for n, v in self.scope.get("headers", []))
        if self.done or (waits and not self.read):
            return
        until = self.received + LINGER_BYTES
        try:
            async with asyncio.timeout(LINGER_SECONDS):
                while not self.done and self.received < until:
                    await self._next()
        except TimeoutError:
            return


def _uploads(scope: Scope) -> bool:
    """A document upload: the API's documents route, or a page's multipart form."""
    if scope["path"].startswith("/api"):
        return scope["path"].endswith("/documents")
    return any(name == b"content-type" and value.startswith(b"multipart/form-data")
               for name, value in scope.get("headers", []))


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


async def _refuse(send: Send, size: int, *, exact: bool) -> None:
    """413 for the API: the size the body declared, or (sent in chunks) how much of it was read."""
    from web.errors import envelope

    said = f"{size // 1024} KB" if exact else f"at least {size // 1024} KB"
    response = envelope(413, "payload_too_large",
                        f"The request body is too large ({said}; at most {API_BODY_BYTES // 1024} KB). "
                        "Shorten the longest texts; documents are uploaded as files, not in JSON.",
                        {"limit_bytes": API_BODY_BYTES})
    await response({"type": "http"}, _empty_body, send)


def form_limits() -> dict[str, Any]:
    """Arguments for ``request.form()``: a field may be as large as the whole form may be."""
    return {"max_part_size": FORM_BODY_BYTES}


PAGE_POLICY = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
               "form-action 'self'; frame-ancestors 'none'")
# the interactive API docs (Swagger UI, its assets served from here) start with an inline script
DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


class SecurityHeaders:
    """ASGI middleware: every answer says what a browser may do with it (no framing, no sniffing,
    scripts and styles from this site only, no referrer to other sites)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        policy = DOCS_POLICY if scope["path"] == "/api/docs" else PAGE_POLICY

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", policy.encode()), (b"x-frame-options", b"DENY"),
                            (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
