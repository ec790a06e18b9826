"""FastAPI dependencies: the application layer and who is calling."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from domain import Actor
from services.app import Coopflow
from services.identity import Unauthorized
from web.security import SESSION_COOKIE, Sessions


def get_coopflow(request: Request) -> Coopflow:
    app: Coopflow = request.app.state.coopflow
    return app


async def _coopflow(request: Request) -> Coopflow:
    """``get_coopflow`` as a dependency: async, because FastAPI runs a plain function dependency in
    a thread of its pool, a hop that costs more than this does."""
    return get_coopflow(request)


BEARER = HTTPBearer(auto_error=False, description="the API token of a user (`coopflow user add`, `user token`)")


async def api_actor(request: Request,
                    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]) -> Actor:
    """The caller of an API route, from ``Authorization: Bearer <token>`` (one indexed read: see
    ``AppBase.read_store`` for where it runs)."""
    token = credentials.credentials.strip() if credentials else ""
    if not token or len(token) > 200:
        raise Unauthorized("This request needs an API token: send the header 'Authorization: Bearer <token>'.")
    coopflow = get_coopflow(request)
    actor = await coopflow.read_store(coopflow.actor_for_token, token)
    if actor is None:
        raise Unauthorized("The API token is not valid (it may have been rotated).")
    return actor


def session_actor(request: Request) -> tuple[Actor, dict[str, str]] | None:
    """The signed-in browser user and the session (its CSRF token and its token), if any.

    It reads the store: async routes get it through ``SessionDep`` (FastAPI runs it in a thread);
    once read, it is kept on the request.
    """
    if hasattr(request.state, "session"):
        found: tuple[Actor, dict[str, str]] | None = request.state.session
        return found
    sessions: Sessions = request.app.state.sessions
    token = sessions.token(request.cookies.get(SESSION_COOKIE))
    live = get_coopflow(request).session(token) if token else None
    request.state.session = (live[0], {"csrf": live[1], "token": token}) if live and token else None
    return request.state.session


CoopflowDep = Annotated[Coopflow, Depends(_coopflow)]
ApiActor = Annotated[Actor, Depends(api_actor)]
SessionDep = Annotated[tuple[Actor, dict[str, str]] | None, Depends(session_actor)]
