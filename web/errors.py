"""One error shape everywhere under /api: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain import DomainError

STATUS = {"not_found": 404, "forbidden": 403, "not_assigned": 403, "task_closed": 409, "invalid_data": 422,
          "invalid_request": 422, "unauthorized": 401, "too_many_attempts": 429, "temporal_unavailable": 503,
          "schema_outdated": 503}


class Unauthorized(DomainError):
    code = "unauthorized"


class TooManyAttempts(DomainError):
    code = "too_many_attempts"


def envelope(status: int, code: str, message: str, details: Any = None,
             headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, headers=headers,
                        content={"error": {"code": code, "message": message, "details": details}})


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    from web.pages import error_page  # the pages import this module's errors
    from web.render import LoginRequired, login_redirect

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.code == "unauthorized" else None
        return envelope(STATUS.get(exc.code, 400), exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = {_field(tuple(e["loc"])): e["msg"] for e in exc.errors()}
        listed = "; ".join(f"{k}: {v}" for k, v in details.items())
        return envelope(422, "invalid_request", f"The request is not valid ({listed}).", details)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Any:
        return login_redirect(request)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        if not request.url.path.startswith("/api"):
            return error_page(request, exc.status_code, str(exc.detail))
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(exc.status_code, "http_error")
        message = "There is no such resource." if exc.status_code == 404 else str(exc.detail)
        return envelope(exc.status_code, code, message)
