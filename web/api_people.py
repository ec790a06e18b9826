"""The JSON API of people inside an organisation: who holds a task, and substitutes (CONTRACT §12)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from web.api import errors, json_body, known_query
from web.deps import ApiActor, CoopflowDep

router = APIRouter(prefix="/api", dependencies=[Depends(known_query)])


class HolderChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user: str | None = Field(max_length=320, description="the e-mail of the person who is to hold the task; "
                                                         "null: nobody")


class SubstituteChoice(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    user: str = Field(max_length=320, description="a colleague's e-mail")
    from_: str = Field(alias="from", max_length=10, description="the first day of the absence, YYYY-MM-DD (UTC)")
    until: str = Field(max_length=10, description="the last day of the absence, YYYY-MM-DD (UTC), included")


class SubstituteRecord(BaseModel):
    user: str = Field(description="the substitute's e-mail")
    user_id: str
    name: str
    from_: str = Field(alias="from")
    until: str
    active: bool = Field(description="today (UTC) is one of the absence's days")


@router.put("/projects/{project_id}/tasks/{task_id}/holder", tags=["people"], dependencies=[Depends(json_body)],
            responses=errors(403, 404, 409, 413, 415))
async def hold_task(project_id: str, task_id: str, body: HolderChange, actor: ApiActor,
                    coopflow: CoopflowDep) -> dict[str, Any]:
    """Say who holds an open task: take it (your own e-mail), hand it to a colleague, or `null` for nobody.
    A person of the organisation that owes it may; the lead's coordinators assign anyone of that
    organisation. A person of another organisation is refused (422 naming `user`)."""
    return await coopflow.hold_task(actor, project_id, task_id, body.user)


@router.get("/me/substitute", tags=["people"], responses=errors())
def my_substitute(actor: ApiActor, coopflow: CoopflowDep) -> SubstituteRecord | None:
    """Your substitute as named (null: none)."""
    found = coopflow.substitute(actor)
    return SubstituteRecord.model_validate(found) if found else None


@router.put("/me/substitute", tags=["people"], dependencies=[Depends(json_body)], responses=errors(413, 415),
            response_model_by_alias=True)
async def name_substitute(body: SubstituteChoice, actor: ApiActor, coopflow: CoopflowDep) -> SubstituteRecord:
    """Name a colleague who stands in for you from `from` to `until` (both days included, UTC dates): they see
    the tasks you hold, may complete them, and get their mail. A new one replaces the one before."""
    found = await asyncio.to_thread(coopflow.set_substitute, actor, user=body.user, starts=body.from_,
                                    ends=body.until)
    return SubstituteRecord.model_validate(found)


@router.delete("/me/substitute", tags=["people"], responses=errors())
async def end_substitute(actor: ApiActor, coopflow: CoopflowDep) -> dict[str, bool]:
    """End your substitute's standing in, now; `ended` is false when you had none."""
    return {"ended": await asyncio.to_thread(coopflow.end_substitute, actor)}
