"""Pages: the project list, a new project, a project's page and its forms."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from domain import Actor, DomainError, InvalidRequest
from services import access
from web.deps import SessionDep, get_coopflow
from web.errors import STATUS
from web.i18n import PROBLEM_KEYS, problem_key
from web.pages import KNOWN_PROBLEMS, error_page
from web.render import render, require_session, translator
from web.security import same

router = APIRouter(include_in_schema=False)


@router.get("/projects")
def projects(request: Request) -> Response:
    session = require_session(request)
    coopflow = get_coopflow(request)
    found = coopflow.list_projects(session[0])
    t = translator(request)
    phases = {}
    for p in found:
        if p["phase"]:
            template = coopflow.template_of(p)
            phases[p["id"]] = t.pick(template.phase(p["phase"]).title, p["phase"])
    return render(request, "projects.html", projects=found, phases=phases)


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
        # the form offers the report settings for every template: only those the chosen one has count
        known = get_coopflow(request).templates.latest(template).parameters
        parameters = {k: v for k, v in parameters.items() if k in known}
    except DomainError:
        pass  # an unknown template is refused below, with the form again
    try:
        project = await get_coopflow(request).start_project(
            session[0], title=title, partners=partners, template=template, parameters=parameters)
    except DomainError as exc:
        named = next(iter(exc.details), "") if isinstance(exc.details, dict) else ""
        return await run_in_threadpool(_new_project_form, request, status=422, error=exc.message, values=values,
                                       error_field=str(named).rsplit(".", 1)[-1])
    return RedirectResponse(f"/projects/{project['id']}", status_code=303)


@router.get("/projects/{project_id}")
def project_page(request: Request, project_id: str, changed: str = "", problem: str = "") -> Response:
    session = require_session(request)
    coopflow, actor = get_coopflow(request), session[0]
    try:
        project = coopflow.show_project(actor, project_id, via=None)  # the page shows no form values
        events = list(coopflow.list_events(actor, project_id))
    except DomainError:
        return error_page(request, 404)
    template = coopflow.template_of(project)
    open_tasks = [t for t in project["tasks"] if t["status"] == "open"]
    owing: dict[str, list[dict[str, Any]]] = {}
    for task in open_tasks:
        owing.setdefault(task["assignee"], []).append(task)
    phase_keys = [p.key for p in template.phases]
    current = phase_keys.index(project["phase"]) if project["phase"] in phase_keys else len(phase_keys)
    may_change = project["status"] == "active" and access.may_change(actor, project)
    return render(request, "project.html", project=project, template=template, owing=owing, events=events,
                  current=current, done_all=project["status"] == "completed", emails=coopflow.user_emails(),
                  assignees={t["id"]: t["assignee"] for t in project["tasks"]}, may_change=may_change,
                  open_tasks=open_tasks, changed=changed, problem=_said(request, problem, session[1]["csrf"]),
                  may_erase=access.may_change(actor, project) and "personal_data" in project,
                  may_audit=True,  # whoever sees a project reads its trail (verifying it is for some)
                  witnessed=coopflow.witnesses(actor, project_id)["orgs"],
                  candidates=[o for o in coopflow.partner_candidates(actor)
                              if o["id"] not in project["partners"]] if may_change else [])


async def _project_form(request: Request, project_id: str, anchor: str,
                        act: Callable[[Actor, Any], Awaitable[str]]) -> Response:
    """A form of the project page: its CSRF token checked, ``act`` done with the form (the page again, at
    the query it returns), or the page again at ``anchor`` saying, in the reader's language, why not."""
    session = require_session(request)  # read in a thread by SessionDep
    form = await request.form()
    if not same(str(form.get("csrf", "")), session[1]["csrf"]):
        return error_page(request, 403, "The form expired. Reload the page and try again.")
    try:
        done = await act(session[0], form)
    except DomainError as exc:
        if exc.code == "not_found":
            return error_page(request, 404)
        key = problem_key(exc.code, exc.details)  # said in the reader's language; else signed for this session
        problem = key or request.app.state.messages.sign(exc.message[:500], session[1]["csrf"])
        return RedirectResponse(f"/projects/{project_id}?{urlencode({'problem': problem})}#{anchor}", status_code=303)
    return RedirectResponse(f"/projects/{project_id}{done}", status_code=303)


def _said(request: Request, problem: str, csrf: str) -> str | None:
    """The words of a refusal a form's redirect names: one of the known ones, in the reader's language, or
    the words signed for this session; never text the URL itself carries."""
    if not problem:
        return None
    if problem in PROBLEM_KEYS:
        return translator(request)(problem)
    said: str | None = request.app.state.messages.read(problem, csrf)
    return said


@router.post("/projects/{project_id}/changes")
async def change_project(request: Request, project_id: str, _session: SessionDep) -> Response:
    """The project page's change forms: one kind each, always with a reason. Withdrawing a partner is sent
    only once confirmed on a page that says what the partner loses."""
    form = await request.form()
    if form.get("kind") == "withdraw_partner" and form.get("confirm") != "yes":
        asked = await run_in_threadpool(_confirm_withdrawal, request, project_id, form)
        if asked is not None:
            return asked

    async def change(actor: Actor, form: Any) -> str:
        kind, due = str(form.get("kind", "")), str(form.get("due_date", "")).strip()
        if kind == "cancel" and form.get("confirm") != "yes":
            raise InvalidRequest("Tick the box to confirm the cancellation.", {"confirm": "is required"})
        await get_coopflow(request).change_project(
            actor, project_id, kind=kind, reason=str(form.get("reason", "")),
            task_id=str(form.get("task_id", "")) or None, org=str(form.get("org", "")) or None,
            due_at=f"{due}T23:59:59Z" if due else None, request_id=str(form.get("request_id", "")) or None,
            via=None)
        return f"?changed={kind}"

    return await _project_form(request, project_id, "changes", change)


def _confirm_withdrawal(request: Request, project_id: str, form: Any) -> Response | None:
    """The page that asks to confirm a partner's withdrawal: its open tasks by name, that it will no longer
    see the project, that its work stays in the trail. None when the change will be refused anyway (not the
    lead's coordinator, not a partner, the last partner, no reason, a stale form): it is refused at once."""
    actor, session = require_session(request)
    org = str(form.get("org", ""))
    if not same(str(form.get("csrf", "")), session["csrf"]):
        return None
    try:
        project = get_coopflow(request).show_project(actor, project_id, via=None)
    except DomainError:
        return None
    if (not access.may_change(actor, project) or project["status"] != "active" or org not in project["partners"]
            or len(project["partners"]) < 2 or not str(form.get("reason", "")).strip()):
        return None
    losing = [t for t in project["tasks"] if t["status"] == "open" and t["assignee"] == org]
    return render(request, "withdraw_confirm.html", project=project, org=org, losing=losing,
                  template=get_coopflow(request).template_of(project), reason=str(form.get("reason", "")))


@router.post("/projects/{project_id}/personal-data/erase")
async def erase_personal_data(request: Request, project_id: str, _session: SessionDep) -> Response:
    """The project page's erasure form: a reason, and a box ticked to confirm."""
    async def erase(actor: Actor, form: Any) -> str:
        if form.get("confirm") != "yes":
            raise InvalidRequest("Tick the box to confirm the erasure.", {"confirm": "erasure"})
        await get_coopflow(request).erase_personal_data(actor, project_id, reason=str(form.get("reason", "")))
        return "#personal-data"

    return await _project_form(request, project_id, "personal-data", erase)


@router.get("/projects/{project_id}/personal-data")
def personal_data(request: Request, project_id: str) -> Response:
    """What the project holds about its data subjects, and who was shown it, as a JSON download (the lead's
    coordinators; the read is noted as an export)."""
    session = require_session(request)
    try:
        found = get_coopflow(request).personal_data(session[0], project_id, "export")
    except DomainError as exc:
        return error_page(request, STATUS.get(exc.code, 400), exc.code if exc.code in KNOWN_PROBLEMS else exc.message)
    return Response(json.dumps(found, ensure_ascii=False, indent=1), media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="personal-data-{project_id}.json"',
        "Cache-Control": "private, no-store"})
