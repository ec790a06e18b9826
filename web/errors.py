"""One error shape everywhere under /api: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route
from temporalio.service import RPCError

from domain import DomainError, InvalidRequest
from domain.limits import printable, shown
from services.temporal import TemporalUnavailable
from store import StoreUnavailable, is_unavailable

STATUS = {"not_found": 404, "forbidden": 403, "not_assigned": 403, "task_closed": 409, "invalid_data": 422,
          "invalid_request": 422, "unauthorized": 401, "too_many_attempts": 429, "temporal_unavailable": 503,
          "store_unavailable": 503, "schema_outdated": 503, "payload_too_large": 413,
          "unsupported_media_type": 415, "idempotency_conflict": 409,
          "codec_keys_missing": 500, "not_erasable": 409, "personal_data_locked": 503,
          "sealed_value_broken": 500}
RETRY_AFTER = {"Retry-After": "5"}  # seconds: what a 503 suggests to a script before it tries again
log = structlog.get_logger("coopflow.web")


def envelope(status: int, code: str, message: str, details: Any = None,
             headers: dict[str, str] | None = None) -> JSONResponse:
    """The one error shape; whatever a message echoes of the request is made printable first."""
    return JSONResponse(status_code=status, headers=headers,
                        content={"error": {"code": code, "message": printable(message), "details": _clean(details)}})


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def logged_path(path: str) -> str:
    """A request's path as a log line says it: a calendar feed's secret is a credential, and never logged."""
    return "/calendar/<secret>.ics" if path.startswith("/calendar/") else path


def _field(loc: tuple[Any, ...]) -> str:
    parts = [shown(p, 40) if isinstance(p, str) else str(p) for p in loc
             if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _problem(error: dict[str, Any]) -> tuple[str, str]:
    """A request validation error as (field, what is wrong), for a person."""
    if error.get("type") == "json_invalid":
        return "body", f"is not valid JSON ({error.get('ctx', {}).get('error', 'cannot be parsed')})"
    return _field(tuple(error["loc"])), str(error["msg"])


def _routes(routes: Any) -> Any:
    """Every route, also those of included routers."""
    for route in routes:
        if isinstance(route, Route):
            yield route
        inner = getattr(route, "original_router", None) or getattr(route, "router", None)
        if inner is not None and hasattr(inner, "routes"):
            yield from _routes(inner.routes)


def install(app: FastAPI) -> None:
    from web.pages import error_page  # the pages import this module's errors
    from web.render import LoginRequired, login_redirect

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Any:
        status = STATUS.get(exc.code, 400)
        if status == 503 and not request.url.path.startswith("/api"):
            return error_page(request, 503, exc.code)
        headers = {"WWW-Authenticate": "Bearer"} if exc.code == "unauthorized" else None
        return envelope(status, exc.code, exc.message, exc.details, RETRY_AFTER if status == 503 else headers)

    @app.exception_handler(SQLAlchemyError)
    async def store_error(request: Request, exc: SQLAlchemyError) -> Any:
        if not is_unavailable(exc):
            return await unexpected(request, exc)
        log.warning("the store is unavailable", path=logged_path(request.url.path),
                    error=str(exc).split("\n")[0])
        return await domain_error(request, StoreUnavailable(
            "The store (database) cannot be reached right now. Nothing was changed; try again in a minute."))

    @app.exception_handler(RPCError)
    async def temporal_error(request: Request, exc: RPCError) -> Any:
        log.warning("Temporal is unavailable", path=logged_path(request.url.path), status=exc.status.name,
                    error=exc.message)
        return await domain_error(request, TemporalUnavailable(
            "Temporal (the workflow engine) cannot be reached right now. Nothing new was recorded; "
            "try again in a minute."))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Any:
        log.error("unexpected error", path=logged_path(request.url.path), exc_info=exc)
        if not request.url.path.startswith("/api"):
            return error_page(request, 500, "internal_error")
        return envelope(500, "internal_error", "Something went wrong on our side; it has been logged. "
                        "Try again, and if it persists tell the operators the time it happened.")

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = dict(_problem(e) for e in exc.errors()[:20])
        listed = "; ".join(f"{k}: {v}" for k, v in details.items())
        return envelope(422, "invalid_request", f"The request is not valid ({listed}).", details)

    @app.exception_handler(DataError)
    async def unstorable(request: Request, exc: DataError) -> Any:
        log.warning("a value the database refused reached it", path=logged_path(request.url.path),
                    error=str(exc.orig)[:200])
        return await domain_error(request, InvalidRequest(
            "A value in the request cannot be stored (it holds characters the database refuses).",
            {"request": "holds a value that cannot be stored"}))

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Any:
        return login_redirect(request)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        if not request.url.path.startswith("/api"):
            return error_page(request, exc.status_code, str(exc.detail))
        if exc.status_code == 400:  # a body FastAPI could not even decode (not UTF-8, say): as malformed JSON
            return envelope(422, "invalid_request", "The request body is not valid JSON (it cannot be decoded).",
                            {"body": "is not valid JSON"})
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(exc.status_code, "http_error")
        message = "There is no such resource." if exc.status_code == 404 else str(exc.detail)
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # every method of the path, not only those of the first route that matched
            allowed = sorted({m for route in _routes(app.routes) if route.methods
                              and route.path_regex.match(request.url.path) for m in route.methods})
            headers = {"Allow": ", ".join(allowed)}
            message = f"{request.method} is not allowed here; use {' or '.join(allowed)}."
        return envelope(exc.status_code, code, message, headers=headers)
