"""ASGI middleware: request bodies bounded before anything reads them, security headers on answers.

Bodies (see ``domain.limits`` for the fields):
The API refuses a body over ``API_BODY_BYTES`` with 413 ``payload_too_large``; a document upload
may be as large as ``COOPFLOW_MAX_DOCUMENT_MB`` (checked exactly as it is stored). A page form may
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
UPLOAD_OVERHEAD = 64 * 1024  # a multipart body's boundaries and headers around the document
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


async def _refuse(send: Send, size: int) -> None:
    from web.errors import envelope

    response = envelope(413, "payload_too_large",
                        f"The request body is too large ({size // 1024} KB; at most {API_BODY_BYTES // 1024} KB). "
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
