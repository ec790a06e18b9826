"""The JSON API under /api (CONTRACT.md §3). Every route but /health authenticates its caller;
what the caller may see and do is decided by the application layer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from web.deps import ApiActor, CoopflowDep

router = APIRouter(prefix="/api")


class ProjectCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template: str = "cooperation"
    title: str = Field(min_length=1, max_length=300)
    partners: list[str] = Field(min_length=1)
    parameters: dict[str, Any] = {}


class TaskCompletion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: dict[str, Any] = {}
    outcome: str | None = None
    comment: str | None = Field(default=None, max_length=5000)


@router.get("/health", tags=["system"])
async def health(coopflow: CoopflowDep) -> JSONResponse:
    """Whether Temporal and the store answer; 503 names the part that does not."""
    result = await coopflow.health()
    return JSONResponse(result, status_code=200 if result["status"] == "ok" else 503)


@router.get("/templates", tags=["projects"])
def templates(actor: ApiActor, coopflow: CoopflowDep) -> list[dict[str, Any]]:
    return [t.summary() for t in coopflow.templates.all_latest()]


@router.post("/projects", status_code=201, tags=["projects"])
async def start_project(body: ProjectCreate, actor: ApiActor, coopflow: CoopflowDep) -> dict[str, Any]:
    """Start a project led by the caller's organisation (coordinators only)."""
    return await coopflow.start_project(actor, title=body.title, partners=body.partners, template=body.template,
                                        parameters=body.parameters)


@router.get("/projects", tags=["projects"])
def list_projects(actor: ApiActor, coopflow: CoopflowDep) -> list[dict[str, Any]]:
    return coopflow.list_projects(actor)


@router.get("/projects/{project_id}", tags=["projects"])
def show_project(project_id: str, actor: ApiActor, coopflow: CoopflowDep,
                 as_of: Annotated[str | None, Query(description="ISO 8601: the state rebuilt up to then")] = None
                 ) -> dict[str, Any]:
    return coopflow.show_project(actor, project_id, as_of=as_of)


@router.get("/tasks", tags=["tasks"])
def list_tasks(actor: ApiActor, coopflow: CoopflowDep) -> list[dict[str, Any]]:
    """The open tasks of the caller's organisation (auditors: auditor tasks), overdue first."""
    return coopflow.list_tasks(actor)


@router.post("/projects/{project_id}/tasks/{task_id}/complete", tags=["tasks"])
async def complete_task(project_id: str, task_id: str, body: TaskCompletion, actor: ApiActor,
                        coopflow: CoopflowDep,
                        idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> dict[str, Any]:
    """Complete a task; a repeat with the same Idempotency-Key returns the first answer."""
    return await coopflow.complete_task(actor, project_id, task_id, data=body.data, outcome=body.outcome,
                                        comment=body.comment, request_id=idempotency_key)


@router.get("/projects/{project_id}/events", tags=["audit"])
def list_events(project_id: str, actor: ApiActor, coopflow: CoopflowDep,
                actor_email: Annotated[str | None, Query(alias="actor", description="e-mail of the actor")] = None,
                org: str | None = None, type: str | None = None, since: str | None = None,
                until: str | None = None) -> list[dict[str, Any]]:
    """The project's events in seq order, from the audit store; filters narrow them."""
    return list(coopflow.list_events(actor, project_id, by_email=actor_email, org=org, type=type,
                                     since=since, until=until))


@router.get("/projects/{project_id}/verify", tags=["audit"])
def verify(project_id: str, actor: ApiActor, coopflow: CoopflowDep) -> dict[str, Any]:
    """The hash chain recomputed: ok, count, head and each problem with its seq."""
    return coopflow.verify(actor, project_id)
