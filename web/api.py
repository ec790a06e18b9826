"""The JSON API under /api. Every route but /health authenticates its caller; what the caller may
see and do is decided by the application layer. Every answer other than a success has the error
envelope, and the OpenAPI description says so for each route."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Header, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from domain.errors import InvalidRequest, UnsupportedMediaType
from domain.limits import MAX_COMMENT_CHARS, MAX_KEY_CHARS, MAX_PARTNERS, MAX_TITLE_CHARS, shown
from store.paging import DEFAULT_LIMIT
from web.deps import ApiActor, CoopflowDep
from web.paging import Cursor, Limit, paged


async def json_body(request: Request) -> None:
    """A route that takes a JSON body refuses any other kind (415), before reading it. (Dependencies that
    do no I/O are async: FastAPI would run a plain function in a thread of its pool, for every request.)"""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json" and not kind.endswith("+json"):
        raise UnsupportedMediaType(f"This request needs a JSON body (Content-Type: application/json), not "
                                   f"'{kind or 'none'}'.", {"content-type": "must be application/json"})


class ErrorBody(BaseModel):
    code: str = Field(description="stable, e.g. not_found, invalid_data, temporal_unavailable")
    message: str = Field(description="a sentence a person understands")
    details: Any = Field(default=None, description="per field, what is wrong (or other particulars)")


class ErrorEnvelope(BaseModel):
    error: ErrorBody


ANSWERS = {401: "no valid API token", 403: "not allowed for the caller", 404: "not found, or not visible to the caller",
           409: "conflict: the task is closed, or an Idempotency-Key was used for another request",
           413: "body too large", 415: "not a JSON body", 422: "invalid request or data",
           500: "unexpected error (logged)", 503: "Temporal or the store is unavailable: retry after Retry-After"}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented error answers of an authenticated route: each has the error envelope."""
    return {status: {"model": ErrorEnvelope, "description": ANSWERS[status]}
            for status in sorted({401, 422, 500, 503, *statuses})}


def _query_names(dependant: Any) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def known_query(request: Request) -> None:
    """A query parameter the route does not take is refused (422, named), not silently ignored: a
    misspelt filter (``?orgg=``) would otherwise answer as if there were none."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    unknown = sorted(set(request.query_params) - _query_names(dependant))
    if unknown:
        raise InvalidRequest(f"This route takes no parameter {', '.join(repr(shown(u)) for u in unknown)}.",
                             {shown(u): "is not a parameter of this route" for u in unknown})


router = APIRouter(prefix="/api", dependencies=[Depends(known_query)])
OrgId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=100)]
KeyHeader = Annotated[str | None, Header(alias="Idempotency-Key", max_length=MAX_KEY_CHARS,
                                         description="repeat-safe: a repeat gets the first answer")]


class ProjectCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template: str = Field(default="cooperation", pattern=r"^[a-z0-9_-]+$", max_length=100)
    title: str = Field(min_length=1, max_length=MAX_TITLE_CHARS)
    partners: list[OrgId] = Field(min_length=1, max_length=MAX_PARTNERS)
    parameters: dict[str, Any] = {}


class ProjectChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["extend_deadline", "waive", "reassign", "add_partner", "withdraw_partner", "cancel"]
    reason: str = Field(min_length=1, max_length=2000)
    task_id: str | None = Field(default=None, max_length=20, description="extend_deadline, waive, reassign")
    due_at: str | None = Field(default=None, max_length=64, description="extend_deadline: ISO 8601, later than now")
    org: OrgId | None = Field(default=None, description="reassign, add_partner, withdraw_partner")


class ExtensionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    due_at: str = Field(max_length=64, description="the due date asked for, ISO 8601")
    reason: str = Field(min_length=1, max_length=2000)


class TaskCompletion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: dict[str, Any] = {}
    outcome: str | None = Field(default=None, max_length=100)
    comment: str | None = Field(default=None, max_length=MAX_COMMENT_CHARS)


@router.get("/health", tags=["system"], responses={503: {"description": "a part is unavailable (named)"}})
async def health(coopflow: CoopflowDep) -> JSONResponse:
    """Whether Temporal and the store answer; 503 names the part that does not."""
    result = await coopflow.health()
    return JSONResponse(result, status_code=200 if result["status"] == "ok" else 503)


@router.get("/templates", tags=["projects"], responses=errors())
def templates(actor: ApiActor, coopflow: CoopflowDep) -> list[dict[str, Any]]:
    """The templates a project can start from (the newest version of each), with titles and parameters."""
    return [t.summary() for t in coopflow.templates.all_latest()]


@router.post("/projects", status_code=201, tags=["projects"], dependencies=[Depends(json_body)],
             responses=errors(403, 409, 413, 415, 422))
async def start_project(body: ProjectCreate, actor: ApiActor, coopflow: CoopflowDep,
                        idempotency_key: KeyHeader = None) -> dict[str, Any]:
    """Start a project led by the caller's organisation (coordinators only)."""
    return await coopflow.start_project(actor, title=body.title, partners=body.partners, template=body.template,
                                        parameters=body.parameters, request_id=idempotency_key)


@router.get("/projects", tags=["projects"], responses=errors())
def list_projects(request: Request, response: Response, actor: ApiActor, coopflow: CoopflowDep,
                  limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> list[dict[str, Any]]:
    """The projects the caller may see: those of its organisation (lead or partner); auditors see all. The
    earliest started first, a page at a time: the next page's URL is in the ``Link`` header."""
    return paged(request, response, coopflow.projects_page(actor, cursor=cursor, limit=limit))


@router.get("/projects/{project_id}", tags=["projects"], responses=errors(404, 422))
async def show_project(project_id: str, actor: ApiActor, coopflow: CoopflowDep,
                       as_of: Annotated[str | None, Query(description="ISO 8601: the state rebuilt up to then")] = None
                       ) -> dict[str, Any]:
    """A project with its tasks; with ``as_of``, as it was then, rebuilt from the stored events."""
    if as_of is None:  # the read model: a short read
        return await coopflow.read_project(actor, project_id)
    return await asyncio.to_thread(coopflow.show_project, actor, project_id, as_of=as_of)  # folds the events


@router.get("/projects/{project_id}/tasks", tags=["tasks"], responses=errors(404, 422))
async def project_tasks(project_id: str, actor: ApiActor, coopflow: CoopflowDep,
                        status: Annotated[Literal["open", "completed", "waived", "superseded"] | None,
                                          Query(description="only the tasks with this status")] = None
                        ) -> list[dict[str, Any]]:
    """The project's tasks as in the project (same visibility), in the order they opened; ``?status=open``:
    what is open now, without reading the whole project."""
    tasks: list[dict[str, Any]] = (await coopflow.read_project(actor, project_id, task_status=status))["tasks"]
    return tasks


@router.get("/tasks", tags=["tasks"], responses=errors())
def list_tasks(request: Request, response: Response, actor: ApiActor, coopflow: CoopflowDep,
               limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None,
               holder: Annotated[Literal["me", "none"] | None, Query(
                   description="me: the tasks I hold (and those of whom I substitute for today); none: those "
                               "nobody holds")] = None) -> list[dict[str, Any]]:
    """The open tasks of the caller's organisation (auditors: auditor tasks), the earliest due first (overdue
    ones are due earliest), a page at a time: the next page's URL is in the ``Link`` header."""
    return paged(request, response, coopflow.tasks_page(actor, cursor=cursor, limit=limit, holder=holder))


@router.post("/projects/{project_id}/tasks/{task_id}/complete", tags=["tasks"], dependencies=[Depends(json_body)],
             responses=errors(403, 404, 409, 413, 415, 422))
async def complete_task(project_id: str, task_id: str, body: TaskCompletion, actor: ApiActor,
                        coopflow: CoopflowDep, idempotency_key: KeyHeader = None) -> dict[str, Any]:
    """Complete a task; a repeat with the same Idempotency-Key returns the first answer."""
    return await coopflow.complete_task(actor, project_id, task_id, data=body.data, outcome=body.outcome,
                                        comment=body.comment, request_id=idempotency_key)


@router.post("/projects/{project_id}/changes", tags=["changes"], dependencies=[Depends(json_body)],
             responses=errors(403, 404, 409, 413, 415))
async def change_project(project_id: str, body: ProjectChange, actor: ApiActor, coopflow: CoopflowDep,
                         idempotency_key: KeyHeader = None) -> dict[str, Any]:
    """Change a running project (coordinators of the lead organisation): extend a deadline, waive or
    reassign a task, add or withdraw a partner, cancel. Answers with the project as it is now."""
    return await coopflow.change_project(actor, project_id, kind=body.kind, reason=body.reason, task_id=body.task_id,
                                         due_at=body.due_at, org=body.org, request_id=idempotency_key)


@router.post("/projects/{project_id}/tasks/{task_id}/extension", tags=["changes"], dependencies=[Depends(json_body)],
             responses=errors(403, 404, 409, 413, 415))
async def request_extension(project_id: str, task_id: str, body: ExtensionRequest, actor: ApiActor,
                            coopflow: CoopflowDep, idempotency_key: KeyHeader = None) -> dict[str, Any]:
    """Ask for more time for an open task of one's organisation: the lead's coordinators decide
    (a task ``extension_decision`` opens). Answers with the project as it is now."""
    return await coopflow.request_extension(actor, project_id, task_id, due_at=body.due_at, reason=body.reason,
                                            request_id=idempotency_key)


class Erasure(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000, description="why: it goes into the trail")


@router.post("/projects/{project_id}/personal-data/erase", tags=["personal data"], dependencies=[Depends(json_body)],
             responses=errors(403, 404, 409, 413, 415))
async def erase_personal_data(project_id: str, body: Erasure, actor: ApiActor, coopflow: CoopflowDep
                              ) -> dict[str, Any]:
    """Erase the project's personal data (coordinators of the lead organisation): its data keys are destroyed
    and ``PersonalDataErased`` recorded; a running case is cancelled first. Again: the first erasure's answer.
    409 ``not_erasable``: a case started before sealing."""
    return await coopflow.erase_personal_data(actor, project_id, reason=body.reason)


@router.get("/projects/{project_id}/personal-data", tags=["personal data"], responses=errors(403, 404))
async def personal_data(project_id: str, actor: ApiActor, coopflow: CoopflowDep) -> dict[str, Any]:
    """Everything the project holds about its data subjects (GDPR Art. 15), and who was shown it when
    (coordinators of the lead organisation). After erasure: the erasure, and that log."""
    return await asyncio.to_thread(coopflow.personal_data, actor, project_id, "export")


@router.get("/projects/{project_id}/events", tags=["audit"], responses=errors(404, 422))
def list_events(request: Request, response: Response, project_id: str, actor: ApiActor, coopflow: CoopflowDep,
                actor_email: Annotated[str | None, Query(
                    alias="actor", max_length=320,
                    description="e-mail of the actor (one that is no user's finds no events)")] = None,
                org: Annotated[str | None, Query(max_length=100)] = None,
                type: Annotated[str | None, Query(max_length=100, description="an event type")] = None,
                since: Annotated[str | None, Query(max_length=64)] = None,
                until: Annotated[str | None, Query(max_length=64)] = None,
                limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> list[dict[str, Any]]:
    """The project's events in seq order, from the audit store; filters narrow them. A page at a time: the
    next page's URL (same filters) is in the ``Link`` header."""
    return paged(request, response, coopflow.events_page(actor, project_id, by_email=actor_email, org=org, type=type,
                                                         since=since, until=until, cursor=cursor, limit=limit))


@router.get("/projects/{project_id}/template", tags=["audit"], responses=errors(404))
def pinned_template(project_id: str, actor: ApiActor, coopflow: CoopflowDep) -> dict[str, Any]:
    """The template the project started with, exactly (same visibility as the project): ``id``, ``version``,
    ``digest`` (SHA-256 of its canonical JSON: the ``template_ref.digest`` of the first event, or the digest of an
    older first event's ``template``) and ``template``."""
    return coopflow.pinned_template(actor, project_id)


@router.get("/projects/{project_id}/verify", tags=["audit"], responses=errors(404))
def verify(project_id: str, actor: ApiActor, coopflow: CoopflowDep) -> dict[str, Any]:
    """The hash chain recomputed: ok, count, head and each problem with its seq."""
    return coopflow.verify(actor, project_id)


class DocumentRecord(BaseModel):
    sha256: str
    name: str
    size: int
    media_type: str


@router.post("/projects/{project_id}/documents", status_code=201, tags=["documents"],
             responses=errors(403, 404, 413, 415))
async def upload_document(project_id: str, file: UploadFile, actor: ApiActor, coopflow: CoopflowDep,
                          task: Annotated[str | None, Form(max_length=20, description=(
                              "with field: the task whose document field this is for"))] = None,
                          field: Annotated[str | None, Form(max_length=100, description=(
                              "with task: the field; a personal field's document is sealed as it is kept"))] = None
                          ) -> DocumentRecord:
    """Upload a document (multipart, field ``file``) for a completion to name by its sha256. Members of the
    project only; PDF, PNG, JPEG, ODT, DOCX, XLSX, TXT or CSV by content; at most COOPFLOW_MAX_DOCUMENT_MB.
    A document for a personal field names its ``task`` and ``field``: it is sealed (content and name) and
    its sha256 is the sealed content's."""
    found = await asyncio.to_thread(coopflow.upload_document, actor, project_id, file.file, file.filename or "",
                                    task_id=task, field=field)
    return DocumentRecord(**found)


@router.get("/projects/{project_id}/documents/{sha256}", tags=["documents"], response_class=StreamingResponse,
            responses={**errors(404), 200: {"content": {"application/octet-stream": {}},
                                            "description": "the document, as an attachment"}})
def download_document(project_id: str, sha256: str, actor: ApiActor, coopflow: CoopflowDep) -> StreamingResponse:
    """A document of the project (its members and auditors), as an attachment."""
    return document_response(*coopflow.document(actor, project_id, sha256))


def document_response(record: dict[str, Any], content: Any) -> StreamingResponse:
    """A document as a download: never shown inline, its name safe in both header forms (nosniff is on
    every answer, see ``web/middleware.py``)."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in record["name"])
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(record['name'], safe='')}"
    return StreamingResponse(content, media_type=record["media_type"], headers={
        "Content-Disposition": disposition, "Content-Length": str(record["size"]),
        "Cache-Control": "private, no-store"})


@router.get("/projects/{project_id}/checkpoints", tags=["audit"], responses=errors(404))
def list_checkpoints(project_id: str, actor: ApiActor, coopflow: CoopflowDep) -> list[dict[str, Any]]:
    """The project's signed checkpoints (C2SP notes), oldest first."""
    return coopflow.checkpoints(actor, project_id)
