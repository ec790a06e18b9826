"""The one way the use cases send a project's workflow an update, and wait for its answer.

Every use case that changes a project (a completion, a change, a request for more time, an erasure, the
operator's retry) goes through ``send_update``: one update-id scheme, one bounded wait that rides out
restarts, one reading of a refusal, one answer for a project that has ended meanwhile, and one way to stop
waiting for a project paused by a store incident.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.engine import Engine
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from services.base import update_error
from services.temporal import call_until
from store import StoreUnavailable
from store import incidents as store_incidents
from workflows import workflow_id

log = structlog.get_logger("coopflow.services")


def update_id(kind: str, *same: str | None) -> str:
    """The id Temporal deduplicates an update by: ``kind-`` and a hash of what makes two requests the same
    one (the user, the route with its project and task, the caller's Idempotency-Key), so that the id says
    nothing of who sent it or which key; without a key every request is new."""
    if same and same[-1] is None:
        return f"{kind}-{uuid.uuid4()}"
    return f"{kind}-" + hashlib.sha256("\0".join(str(s) for s in same).encode()).hexdigest()[:40]


async def paused(engine: Engine, project_id: str) -> StoreUnavailable | None:
    """The error for a caller whose change waits on an incident: accepted, kept, not yet in the store.

    Read in a thread (never on the event loop), and a store that cannot be read says nothing: the caller
    goes on waiting for Temporal's answer, which is the only one that counts."""
    try:
        found = await asyncio.to_thread(store_incidents, engine, project_id)
    except Exception as error:
        log.warning("cannot read the incidents while a caller waits", project_id=project_id,
                    error=type(error).__name__)
        return None
    if not found:
        return None
    return StoreUnavailable(
        f"The change was accepted, but the audit store refused to record this project's events (incident since "
        f"{found[0]['since']}). It is kept and will be recorded once an operator has mended the store; there is "
        "no need to repeat it.", {"incident": {k: found[0][k] for k in ("seq", "since")}})


async def send_update(client: Client, engine: Engine, project_id: str, update: Any, *args: Any, id: str,
                      timeout: float, waiting_for: str, ended: Callable[[], Exception] | None) -> Any:
    """Send ``update(*args)`` to the project's workflow under ``id`` until it answers or ``timeout`` passes.

    A refusal is raised as the domain error it carries. A workflow that has ended meanwhile raises
    ``ended()``, or answers None when ``ended`` is None (the caller reads the store instead)."""
    handle = client.get_workflow_handle(workflow_id(project_id))
    deadline = asyncio.get_running_loop().time() + timeout

    async def call(rpc_timeout: timedelta) -> Any:
        return await handle.execute_update(update, args=list(args), id=id, rpc_timeout=rpc_timeout)

    async def give_up() -> Exception | None:
        return await paused(engine, project_id)

    try:
        return await call_until(deadline, call, waiting_for=waiting_for, give_up=give_up)
    except WorkflowUpdateFailedError as exc:
        raise update_error(exc) from None
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        if ended is None:
            return None
        raise ended() from None
