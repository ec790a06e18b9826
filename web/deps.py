"""FastAPI dependencies: the application layer and who is calling."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from domain import Actor
from services.app import Coopflow
from store import accounts
from web.errors import Unauthorized
from web.security import SESSION_COOKIE, Sessions


def get_coopflow(request: Request) -> Coopflow:
    app: Coopflow = request.app.state.coopflow
    return app


def api_actor(request: Request, authorization: Annotated[str | None, Header()] = None) -> Actor:
    """The caller of an API route, from ``Authorization: Bearer <token>``."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("This request needs an API token: send the header 'Authorization: Bearer <token>'.")
    actor = get_coopflow(request).actor_for_token(token.strip())
    if actor is None:
        raise Unauthorized("The API token is not valid (it may have been rotated).")
    return actor


def session_actor(request: Request) -> tuple[Actor, dict[str, str]] | None:
    """The signed-in browser user and the session (with its CSRF token), if any."""
    sessions: Sessions = request.app.state.sessions
    data = sessions.read(request.cookies.get(SESSION_COOKIE))
    if data is None:
        return None
    user = accounts.user_by_id(get_coopflow(request).engine, data["uid"])
    if user is None:
        return None
    return Actor(user=user.id, org=user.org_id, role=user.role), data


CoopflowDep = Annotated[Coopflow, Depends(get_coopflow)]
ApiActor = Annotated[Actor, Depends(api_actor)]
