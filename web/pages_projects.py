"""Pages: the project list, a new project, a project's page, and its audit trail."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from domain import EVENT_TYPES, DomainError
from services import access
from web.deps import SessionDep, get_coopflow
from web.pages import error_page
from web.render import render, require_session
from web.security import same

router = APIRouter(include_in_schema=False)


@router.get("/projects")
def projects(request: Request) -> Response:
    session = require_session(request)
    return render(request, "projects.html", projects=get_coopflow(request).list_projects(session[0]))


def _new_project_form(request: Request, status: int = 200, **context: Any) -> Response:
    coopflow = get_coopflow(request)
    actor = require_session(request)[0]
    orgs = coopflow.partner_candidates(actor)
    context.setdefault("values", {"partners": []})
    return render(request, "new_project.html", status=status, templates=coopflow.templates.all_latest(),
                  orgs=orgs, **context)


@router.get("/projects/new")
def new_project(request: Request) -> Response:
    session = require_session(request)
    if session[0].role != "coordinator":
        return error_page(request, 403, "Only coordinators can start projects.")
    return _new_project_form(request, error=None)


@router.post("/projects/new")
async def start_project(request: Request, _session: SessionDep) -> Response:
    session = require_session(request)  # read in a thread by SessionDep
    form = await request.form()
    if not same(str(form.get("csrf", "")), session[1]["csrf"]):
        return error_page(request, 403, "The form expired. Reload the page and try again.")
    title, template = str(form.get("title", "")), str(form.get("template", "cooperation"))
    partners = [str(p) for p in form.getlist("partners")]
    count, every = str(form.get("report_count", "")).strip(), str(form.get("report_every", "")).strip()
    values = {"title": title, "template": template, "partners": partners, "report_count": count,
              "report_every": every}
    parameters: dict[str, Any] = {}
    if count:
        parameters["report_count"] = int(count) if count.isdigit() else count
    if every:
        parameters["report_every"] = every
    try:
        project = await get_coopflow(request).start_project(
            session[0], title=title, partners=partners, template=template, parameters=parameters)
    except DomainError as exc:
        return await run_in_threadpool(_new_project_form, request, status=422, error=exc.message, values=values)
    return RedirectResponse(f"/projects/{project['id']}", status_code=303)


@router.get("/projects/{project_id}")
def project_page(request: Request, project_id: str) -> Response:
    session = require_session(request)
    coopflow, actor = get_coopflow(request), session[0]
    try:
        project = coopflow.show_project(actor, project_id)
        events = list(coopflow.list_events(actor, project_id))
    except DomainError:
        return error_page(request, 404)
    template = coopflow.template_of(project)
    owing: dict[str, list[dict[str, Any]]] = {}
    for task in project["tasks"]:
        if task["status"] == "open":
            owing.setdefault(task["assignee"], []).append(task)
    phase_keys = [p.key for p in template.phases]
    current = phase_keys.index(project["phase"]) if project["phase"] in phase_keys else len(phase_keys)
    return render(request, "project.html", project=project, template=template, owing=owing, events=events,
                  current=current, done_all=project["status"] == "completed", emails=coopflow.user_emails(),
                  may_audit=True)  # whoever sees a project reads its trail (verifying it is for some)


@router.get("/projects/{project_id}/audit")
def audit_page(request: Request, project_id: str, actor_email: str = "", org: str = "", type: str = "",
               since: str = "", until: str = "", as_of: str = "", verify: str = "") -> Response:
    session = require_session(request)
    coopflow, actor = get_coopflow(request), session[0]
    try:
        project = coopflow.show_project(actor, project_id)
    except DomainError:
        return error_page(request, 404)
    may_verify = access.may_verify(actor, project)
    filters = {"actor_email": actor_email, "org": org, "type": type, "since": since, "until": until}
    problem, past, events, checked = None, None, [], None
    try:
        events = list(coopflow.list_events(actor, project_id, by_email=actor_email or None, org=org or None,
                                           type=type or None, since=since or None, until=until or None))
        past = coopflow.show_project(actor, project_id, as_of=as_of) if as_of else None
        checked = coopflow.verify(actor, project_id) if verify and may_verify else None
    except DomainError as exc:
        problem = exc.message
    template = coopflow.template_of(project)
    return render(request, "audit.html", project=project, template=template, events=events, filters=filters,
                  event_types=EVENT_TYPES, as_of=as_of, past=past, checked=checked, problem=problem,
                  may_verify=may_verify,
                  emails=coopflow.user_emails(), to_json=lambda d: json.dumps(d, ensure_ascii=False, sort_keys=True))
