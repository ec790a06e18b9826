"""What operators and their tools call: readiness, Prometheus metrics, the Temporal UI's codec
endpoint, and the API docs served from this app's own assets (no CDN)."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
from pathlib import Path
from typing import Annotated

import fastapi_offline
from fastapi import APIRouter, Depends, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from domain import Actor, Forbidden, InvalidRequest, NotFound
from services.codec import EncryptionCodec, parse_keys
from services.identity import Unauthorized
from services.metrics import exposition
from services.payloads import open_for
from store import check_schema, read
from web.deps import BEARER, CoopflowDep, get_coopflow, session_actor

router = APIRouter(include_in_schema=False)
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
STAFF = ("coordinator", "auditor")


@router.get("/api/ready")
async def ready(coopflow: CoopflowDep) -> JSONResponse:
    """Ready to serve: the store's schema is at the newest migration, Temporal and the store answer."""
    result = await coopflow.health()
    try:
        await asyncio.to_thread(check_schema, coopflow.engine)
        result["migrations"] = "ok"
    except Exception:
        result["migrations"] = "pending"
    ok = result["temporal"] == result["store"] == result["migrations"] == "ok"
    return JSONResponse({**result, "status": "ok" if ok else "unavailable"}, status_code=200 if ok else 503)


def _loopback(request: Request) -> bool:
    """From this machine itself, not relayed by a proxy on it (a proxy says whom it forwards for)."""
    if "x-forwarded-for" in request.headers or "forwarded" in request.headers:
        return False
    try:
        return request.client is not None and ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


@router.get("/metrics")
async def metrics(request: Request, coopflow: CoopflowDep,
                  credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]) -> Response:
    """Prometheus text. From this machine freely; from elsewhere with ``Bearer $COOPFLOW_METRICS_TOKEN``."""
    settings = request.app.state.settings
    token = credentials.credentials if credentials else ""
    if not _loopback(request) and not (settings.metrics_token and
                                       hmac.compare_digest(token.encode(), settings.metrics_token.encode())):
        raise Unauthorized("Metrics from another machine need 'Authorization: Bearer <COOPFLOW_METRICS_TOKEN>'.")
    body = await asyncio.to_thread(exposition, coopflow.engine, settings.metrics_bind)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


def _codec_staff(request: Request,
                 credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]) -> Actor:
    """Coordinators and auditors, by API token or by their coopflow session (the Temporal UI sends the
    browser's cookies when it is set to include credentials)."""
    token = credentials.credentials.strip() if credentials else ""
    actor = get_coopflow(request).actor_for_token(token) if token and len(token) <= 200 else None
    if actor is None:
        found = session_actor(request)
        actor = found[0] if found else None
    if actor is None:
        raise Unauthorized("Decoding payloads needs a coordinator's or an auditor's API token or session.")
    if actor.role not in STAFF:
        raise Forbidden("Only coordinators and auditors may read workflow payloads.")
    return actor


def _cors(request: Request, response: Response) -> Response:
    origin = request.headers.get("origin", "")
    allowed = {o.strip() for o in request.app.state.settings.codec_origins.split(",") if o.strip()}
    if origin in allowed:
        response.headers.update({
            "Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true",
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type, X-Namespace, Authorization", "Vary": "Origin"})
    return response


@router.options("/codec/{action}")
async def codec_preflight(request: Request, action: str) -> Response:
    return _cors(request, Response(status_code=204))


@router.post("/codec/{action}")
async def codec(request: Request, action: str, actor: Annotated[Actor, Depends(_codec_staff)],
                coopflow: CoopflowDep) -> Response:
    """The Temporal UI's remote codec protocol: Payloads as protobuf JSON in, the same out. Decoding opens
    only the payloads of projects the caller may see (``services/payloads.py``); encoding is refused, since
    what it would seal is a command that did not go through coopflow's checks."""
    keys = parse_keys(request.app.state.settings.codec_keys)
    if action == "encode":
        raise Forbidden("coopflow does not seal payloads for the Temporal UI: commands (completions, changes, "
                        "signals) go through coopflow's API, pages or CLI, which check who may do what.")
    if action != "decode":
        raise NotFound("The codec has /codec/decode (and refuses /codec/encode).")
    if not keys:
        raise NotFound("Payload encryption is off here (COOPFLOW_CODEC_KEYS is empty): nothing to decode.")
    try:
        payloads = json_format.Parse(await request.body(), Payloads())
    except (json_format.ParseError, UnicodeDecodeError) as exc:
        raise InvalidRequest("The body is not Payloads in protobuf JSON.", {"body": str(exc)[:200]}) from None
    try:
        done = await open_for(actor, payloads.payloads, EncryptionCodec(keys),
                              lambda project_id: coopflow.read_store(read.get_project, coopflow.engine, project_id))
    except Exception as exc:  # a payload sealed with a dropped key, or changed
        raise InvalidRequest(f"A payload cannot be decoded: {type(exc).__name__} {exc}".strip(),
                             {"payloads": "cannot be decoded"}) from None
    body = json_format.MessageToJson(Payloads(payloads=done))
    return _cors(request, Response(body, media_type="application/json"))


@router.get("/api/docs")
async def docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/api/openapi.json", title="coopflow API",
                               swagger_js_url="/api/docs/assets/swagger-ui-bundle.js",
                               swagger_css_url="/api/docs/assets/swagger-ui.css",
                               swagger_favicon_url="/api/docs/assets/favicon.png")
