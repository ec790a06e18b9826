"""Pages: the project list, a new project, a project's page and its forms."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from domain import Actor, DomainError, InvalidRequest
from services import access
from web import pictures
from web.deps import SessionDep, get_coopflow
from web.errors import STATUS
from web.pages import KNOWN_PROBLEMS, error_page
from web.paging import bad_cursor, cursor_links
from web.picture_chart import open_work
from web.render import render, require_session, translator
from web.security import same
from web.words import Words

router = APIRouter(include_in_schema=False)


PROJECTS_PAGE = 50  # projects on one page of the project list
TIMELINE_PAGE = 50  # events on one page of a project's timeline


@router.get("/projects")
def projects(request: Request, cursor: str | None = None) -> Response:
    """The projects the reader may see, the earliest started first, a page at a time."""
    session = require_session(request)
    coopflow = get_coopflow(request)
    try:
        page = coopflow.projects_page(session[0], cursor=cursor, limit=PROJECTS_PAGE)
    except DomainError as exc:
        if not bad_cursor(exc):
            raise
        page = coopflow.projects_page(session[0], limit=PROJECTS_PAGE)  # an old link: the first page
    t = translator(request)
    phases = {}
    for p in page.items:
        if p["phase"]:
            template = coopflow.template_of(p)
            phases[p["id"]] = t.pick(template.phase(p["phase"]).title, p["phase"])
    chart = open_work(coopflow.open_work_by_org(session[0]), t, Words(t, coopflow.org_names())) \
        if session[0].role == "coordinator" else None
    return render(request, "projects.html", projects=page.items, phases=phases, open_work=chart,
                  links=cursor_links(request, page, "cursor"))


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
def project_page(request: Request, project_id: str, changed: str = "", cursor: str | None = None) -> Response:
    """The project: its phases, who owes what (its open tasks: the closed ones are in the timeline), the
    changes the reader may make, and the timeline, the latest events first, a page at a time (``cursor``)."""
    return _project_response(request, require_session(request)[0], project_id, changed=changed, cursor=cursor)


# the change forms of the project page, by kind, and the fields each has
CHANGE_FORMS = {"extend_deadline": ("task_id", "due_date", "reason"), "waive": ("task_id", "reason"),
                "reassign": ("task_id", "org", "reason"), "add_partner": ("org", "reason"),
                "withdraw_partner": ("org", "reason"), "cancel": ("confirm", "reason")}
# a refused change: the form's field at fault, by the field the domain names
_CHANGE_FIELDS = {"due_at": "due_date", "task_id": "task_id", "org": "org", "reason": "reason", "confirm": "confirm"}


def _project_response(request: Request, actor: Actor, project_id: str, *, changed: str = "", status: int = 200,
                      refused: dict[str, Any] | None = None, problem: str | None = None,
                      cursor: str | None = None) -> Response:
    """The project page; ``refused`` is a refused form of it: its kind, what was typed, and its errors by
    field (``_form`` when no field of it is at fault)."""
    coopflow = get_coopflow(request)
    try:  # the page shows no form values, and of the tasks only the open ones
        project = coopflow.show_project(actor, project_id, task_status="open", via=None)
        try:
            events = coopflow.events_page(actor, project_id, cursor=cursor, limit=TIMELINE_PAGE, newest_first=True)
        except DomainError as exc:
            if not bad_cursor(exc):
                raise
            events = coopflow.events_page(actor, project_id, limit=TIMELINE_PAGE, newest_first=True)
    except DomainError:
        return error_page(request, 404)
    template = coopflow.template_of(project)
    open_tasks = project["tasks"]
    owing: dict[str, list[dict[str, Any]]] = {}
    for task in open_tasks:
        owing.setdefault(task["assignee"], []).append(task)
    phase_keys = [p.key for p in template.phases]
    current = phase_keys.index(project["phase"]) if project["phase"] in phase_keys else len(phase_keys)
    may_change = project["status"] == "active" and access.may_change(actor, project)
    may_erase = access.may_change(actor, project) and "personal_data" in project
    t = translator(request)
    pd = project.get("personal_data") or {}
    kind = (refused or {}).get("kind")
    if kind and not (may_change if kind in CHANGE_FORMS else may_erase and pd.get("status") == "kept"
                     and pd.get("sealed")):  # the page shows no such form (anymore): said at its top
        problem, refused = next(iter(refused["errors"].values())), None  # type: ignore[index]
    return render(request, "project.html", status=status, project=project, template=template, owing=owing,
                  events=events.items, timeline=cursor_links(request, events, "cursor", "#timeline"),
                  current=current, done_all=project["status"] == "completed", emails=coopflow.user_emails(),
                  assignees=coopflow.task_assignees(actor, project_id, events.items), may_change=may_change,
                  open_tasks=open_tasks, changed=changed, problem=problem,
                  refused=refused or {"kind": None, "typed": {}, "errors": {}},
                  may_erase=may_erase,
                  may_audit=True,  # whoever sees a project reads its trail (verifying it is for some)
                  picture=pictures.timeline(coopflow.project_timeline(actor, project_id), template, t,
                                            Words(t, coopflow.org_names())),
                  witnessed=coopflow.witnesses(actor, project_id)["orgs"],
                  candidates=[o for o in coopflow.partner_candidates(actor)
                              if o["id"] not in project["partners"]] if may_change else [])


async def _project_form(request: Request, project_id: str, kind: str, fields: tuple[str, ...] | None,
                        act: Callable[[Actor, Any], Awaitable[str]]) -> Response:
    """A form of the project page (``kind``, with ``fields``): its CSRF token checked, ``act`` done with the
    form (the page again, at the query it returns), or the page again with what was typed and, in the
    reader's language, why not beside the field at fault (a kind no form has: at the top of the page)."""
    session = require_session(request)  # read in a thread by SessionDep
    form = await request.form()
    if not same(str(form.get("csrf", "")), session[1]["csrf"]):
        return error_page(request, 403, "The form expired. Reload the page and try again.")
    try:
        done = await act(session[0], form)
    except DomainError as exc:
        if exc.code == "not_found":
            return error_page(request, 404)
        text = translator(request).problem(exc.code, exc.details, exc.message)
        if fields is None:  # no form of the page sends this: said at the top of the page
            return await run_in_threadpool(_project_response, request, session[0], project_id, problem=text,
                                           status=STATUS.get(exc.code, 400))
        named = _CHANGE_FIELDS.get(next(iter(exc.details), "")) if isinstance(exc.details, dict) else None
        refused = {"kind": kind, "typed": {name: str(form.get(name, "")) for name in fields},
                   "errors": {named if named in fields else "_form": text}}
        return await run_in_threadpool(_project_response, request, session[0], project_id, refused=refused,
                                       status=STATUS.get(exc.code, 400))
    return RedirectResponse(f"/projects/{project_id}{done}", status_code=303)


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

    kind = str(form.get("kind", ""))
    return await _project_form(request, project_id, kind, CHANGE_FORMS.get(kind), change)


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

    return await _project_form(request, project_id, "erase", ("reason", "confirm"), erase)


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


@router.get("/projects/{project_id}/documents/{sha256}")
def download(request: Request, project_id: str, sha256: str) -> Response:
    """A project's document for its members and auditors, as an attachment (not found for anyone else)."""
    from web.api import document_response

    session = require_session(request)
    try:
        return document_response(*get_coopflow(request).document(session[0], project_id, sha256, via="page"))
    except DomainError:
        return error_page(request, 404)
