"""What of Temporal's sealed payloads a person may read, for the Temporal UI's codec endpoint.

A payload sealed for a project's workflow (its id is bound to the payload, ``services/codec.py``) is
opened only for those who may see that project (``access.may_see``). A payload sealed before payloads
were bound is opened to look for the project it names (a project's start and state carry its id, a
store write its project); one that names none — the daily checkpoint's, an update's command — is
tied to no project and is opened only for those who may see every project: the auditors. The
operators hold the keys themselves. What a caller may not read comes back as a placeholder that says
so, never opened. Personal fields stay sealed tokens inside what is opened (``services/sealing.py``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from temporalio.api.common.v1 import Payload

from domain import Actor
from services import access
from services.codec import ENCODING, EncryptionCodec, workflow_of

WITHHELD = "coopflow-withheld"
NOT_YOURS = "sealed: this payload belongs to a project you may not see, or to none (only auditors read those)"
PROJECT_WORKFLOW = "project-"


def withheld() -> Payload:
    """What a caller gets instead of a payload they may not read."""
    return Payload(metadata={"encoding": b"json/plain", WITHHELD: b"not-yours"}, data=json.dumps(NOT_YOURS).encode())


async def open_for(actor: Actor, payloads: Sequence[Payload], codec: EncryptionCodec,
                   project: Callable[[str], Awaitable[dict[str, Any] | None]]) -> list[Payload]:
    """``payloads`` as ``actor`` may read them: the unsealed as they are, the sealed opened or withheld.
    ``project(id)`` reads a project from the store (None when there is none)."""
    seen: dict[str, bool] = {}

    async def may_open(project_id: str | None) -> bool:
        if project_id is None:
            return access.may_see_every_project(actor)
        if project_id not in seen:
            found = await project(project_id)  # none yet (its first write pending): as a payload of no project
            seen[project_id] = access.may_see(actor, found) if found else access.may_see_every_project(actor)
        return seen[project_id]

    result = []
    for payload in payloads:
        if payload.metadata.get("encoding") != ENCODING:
            result.append(payload)
            continue
        bound = workflow_of(payload)
        if bound is not None:
            result.append((await codec.decode([payload]))[0] if await may_open(_project_of(bound)) else withheld())
            continue
        (opened,) = await codec.decode([payload])  # sealed before binding: what does it name?
        result.append(opened if await may_open(_named_project(opened)) else withheld())
    return result


def _project_of(workflow_id: str) -> str | None:
    return workflow_id.removeprefix(PROJECT_WORKFLOW) if workflow_id.startswith(PROJECT_WORKFLOW) else None


def _named_project(payload: Payload) -> str | None:
    """The project an unbound payload names: a start's ``start.project_id``, a carried state's ``state.id``,
    a store write's ``project.id``; None for anything else."""
    if payload.metadata.get("encoding") != b"json/plain":
        return None
    try:
        value = json.loads(payload.data)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    for part, key in (("start", "project_id"), ("state", "id"), ("project", "id")):
        found = value.get(part)
        if isinstance(found, dict) and isinstance(found.get(key), str) and found[key]:
            return str(found[key])
    return None
