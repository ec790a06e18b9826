"""Pages: log-in and log-out, the inbox, the task page."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from domain import DomainError, InvalidData
from services.base import TASK_ID
from services.identity import TooManyAttempts, Unauthorized
from web.deps import SessionDep, get_coopflow
from web.errors import STATUS
from web.middleware import FORM_BODY_BYTES, form_limits, too_large
from web.paging import bad_cursor, cursor_links
from web.render import remember_language, render, require_session, signed_in, translator
from web.security import BROWSER_COOKIE, BROWSER_MAX_AGE, LOGIN_CSRF_COOKIE, SESSION_COOKIE, SESSION_MAX_AGE, same
from web.task_context import asked_reason, may_send, task_context

router = APIRouter(include_in_schema=False)


# errors an error page says in the reader's language when given their code as its detail
KNOWN_PROBLEMS = {"store_unavailable", "temporal_unavailable", "internal_error", "personal_data_locked"}


def error_page(request: Request, status: int, detail: str = "") -> HTMLResponse:
    """A page that says what went wrong in the reader's language; ``detail`` may name a known case."""
    t = translator(request)
    title = t("not_found") if status == 404 else t("unavailable") if status == 503 else t("error")
    text = t("not_found_text") if status == 404 else t(detail) if detail in KNOWN_PROBLEMS else detail
    headers = {"Retry-After": "5"} if status == 503 else None
    return render(request, "error.html", status=status, title=title, text=text, headers=headers)


def safe_next(target: str | None) -> str:
    parsed = urlparse(target or "")
    return target if target and not parsed.scheme and not parsed.netloc and target.startswith("/") else "/inbox"


@router.get("/")
def home(request: Request) -> Response:
    return RedirectResponse("/inbox" if signed_in(request) else "/login", status_code=303)


FAVICON = Path(__file__).parent / "static" / "favicon.svg"


@router.get("/favicon.ico")
def favicon() -> Response:
    """What browsers ask for on every site (an SVG: every browser coopflow supports shows one)."""
    return FileResponse(FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


@router.get("/login")
def login_form(request: Request, next: str = "/inbox") -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", login_csrf=token, next=safe_next(next), error=None, email="")
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="lax", max_age=3600,
                        secure=request.app.state.secure_cookies)
    return response


@router.post("/login")
async def login(request: Request, session: SessionDep) -> Response:
    form = await request.form()
    email, password = str(form.get("email", ""))[:320], str(form.get("password", ""))[:1000]
    target = safe_next(str(form.get("next", "")))
    if not same(str(form.get("csrf", "")), request.cookies.get(LOGIN_CSRF_COOKIE)):
        return error_page(request, 403, "The form expired. Reload the page and try again.")
    t = translator(request)
    address = request.client.host if request.client else "-"  # behind a trusted proxy: the client's
    browsers = request.app.state.browsers
    known = browsers.known(request.cookies.get(BROWSER_COOKIE), email)
    try:  # argon2 and the store take time: off the event loop
        token, _ = await run_in_threadpool(get_coopflow(request).log_in, email, password, address, known)
    except TooManyAttempts as exc:
        return render(request, "login.html", status=429, login_csrf=form.get("csrf"), next=target,
                      error=t.plural("login_wait", int(exc.details["retry_after"])), email=email,
                      headers={"Retry-After": str(exc.details["retry_after"])})
    except Unauthorized:
        return render(request, "login.html", status=401, login_csrf=form.get("csrf"), next=target,
                      error=t("login_failed"), email=email)
    lang = await run_in_threadpool(_stored_language, request, token)
    response = RedirectResponse(target, status_code=303)
    remember_language(response, lang)  # the user's own language wins over the browser's from now on
    response.set_cookie(SESSION_COOKIE, request.app.state.sessions.cookie(token), httponly=True, samesite="lax",
                        max_age=SESSION_MAX_AGE, secure=request.app.state.secure_cookies)
    response.set_cookie(BROWSER_COOKIE, browsers.cookie(email, known), httponly=True, samesite="lax",
                        max_age=BROWSER_MAX_AGE, secure=request.app.state.secure_cookies)
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


def _stored_language(request: Request, token: str) -> str:
    """The language the user of a new session chose (their pages and mail)."""
    coopflow = get_coopflow(request)
    found = coopflow.session(token)
    return coopflow.language(found[0]) if found else translator(request).lang


@router.post("/logout")
async def logout(request: Request, session: SessionDep) -> Response:
    """Ends this session; with ``everywhere`` every session of the user, in every browser."""
    form = await request.form()
    if session is not None:
        if not same(str(form.get("csrf", "")), session[1]["csrf"]):
            return error_page(request, 403, "The form expired. Reload the page and try again.")
        coopflow = get_coopflow(request)
        if form.get("everywhere"):
            await run_in_threadpool(coopflow.log_out_everywhere, session[0])
        else:
            await run_in_threadpool(coopflow.log_out, session[1]["token"])
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


OVERVIEW_PAGE = 25  # projects an auditor's landing page verifies at a time


INBOX_PAGE = 50  # tasks on one page of the inbox


@router.get("/inbox")
def inbox(request: Request, done: str | None = None, tasks: str | None = None, projects: str | None = None,
          holder: str | None = None) -> Response:
    """Open tasks (a page at a time: ``tasks`` is its cursor; ``holder``: "me", mine; "none", those nobody holds;
    else all); an auditor lands on the projects to audit with their verification (each checked from its kept check on,
    docs/verification.md), and its tasks (the projects a
    page at a time, the latest changed first: ``projects`` is that list's cursor)."""
    session = require_session(request)
    actor = session[0]
    done = done if done and TASK_ID.fullmatch(done) else None  # a task's id, never other text from the link
    coopflow = get_coopflow(request)
    t = translator(request)
    holder = holder if holder in ("me", "none") else None  # a known filter, never other text from the link
    try:
        task_page = coopflow.inbox_page(actor, cursor=tasks, limit=INBOX_PAGE, holder=holder)
    except DomainError as exc:
        if not bad_cursor(exc):
            raise
        task_page = coopflow.inbox_page(actor, limit=INBOX_PAGE, holder=holder)  # an old link: the first page
    shown_tasks = [{**task, "project_title": project["title"], "step_title": t.pick(
        coopflow.template_of(project).step(task["step"]).title, task["step"])} for task, project in task_page.items]
    task_links = cursor_links(request, task_page, "tasks")
    if actor.role == "auditor":
        try:
            page = coopflow.projects_page(actor, cursor=projects, limit=OVERVIEW_PAGE, latest_changed=True)
        except DomainError as exc:
            if not bad_cursor(exc):
                raise
            page = coopflow.projects_page(actor, limit=OVERVIEW_PAGE, latest_changed=True)
        overview = [{**p, **coopflow.overview_check(actor, p["id"])} for p in page.items]
        return render(request, "audit_overview.html", tasks=shown_tasks, done=done, projects=overview,
                      links=cursor_links(request, page, "projects"), task_links=task_links)
    return render(request, "inbox.html", tasks=shown_tasks, done=done, links=task_links, holder=holder)


@router.get("/projects/{project_id}/tasks/{task_id}")
def task_page(request: Request, project_id: str, task_id: str, asked: str = "", held: str = "") -> Response:
    session = require_session(request)
    message = translator(request)("request_sent") if asked else None
    return _task_response(request, session[0], project_id, task_id, values={}, errors={}, message=message,
                          held_saved=bool(held))


# a refused request for more time: the form's field at fault, by the field the domain names
_ASK_FIELDS = {"due_at": "due_date", "reason": "reason"}


@router.post("/projects/{project_id}/tasks/{task_id}/extension")
async def ask_for_time(request: Request, project_id: str, task_id: str, _session: SessionDep) -> Response:
    """The task page's "ask for more time" form."""
    session = require_session(request)  # read in a thread by SessionDep
    form = await request.form()
    if not same(str(form.get("csrf", "")), session[1]["csrf"]):
        return error_page(request, 403, "The form expired. Reload the page and try again.")
    due = str(form.get("due_date", "")).strip()
    try:
        await get_coopflow(request).request_extension(
            session[0], project_id, task_id, due_at=f"{due}T23:59:59Z" if due else "",
            reason=str(form.get("reason", "")), request_id=str(form.get("request_id", "")) or None,
            via=None)
    except DomainError as exc:
        t = translator(request)
        text = t(exc.code) if exc.code in ("task_closed", "not_assigned") else t.problem(
            exc.code, exc.details, exc.message)
        field = _ASK_FIELDS.get(next(iter(exc.details), "")) if isinstance(exc.details, dict) else None
        ask = {"due_date": due, "reason": str(form.get("reason", "")), "errors": {field: text} if field else {}}
        return await run_in_threadpool(_task_response, request, session[0], project_id, task_id, values={},
                                       errors={}, message=None if field else text, ask=ask,
                                       status=STATUS.get(exc.code, 400))
    return RedirectResponse(f"/projects/{project_id}/tasks/{task_id}?asked=1", status_code=303)


@router.post("/projects/{project_id}/tasks/{task_id}")
async def complete_task(request: Request, project_id: str, task_id: str, _session: SessionDep) -> Response:
    session = require_session(request)  # read in a thread by SessionDep
    t = translator(request)
    size = too_large(request)
    if size is not None:  # the form was not read: say so on the task page, in the reader's language
        message = _too_large_text(request, size)
        return await run_in_threadpool(_task_response, request, session[0], project_id, task_id, values={},
                                       errors={}, status=413, message=message)
    form = await request.form(**form_limits())
    if not same(str(form.get("csrf", "")), session[1]["csrf"]):
        return error_page(request, 403, "The form expired. Reload the page and try again.")
    # the decision's own comment is "_comment": a step's form may have a field named "comment"
    plain: dict[str, list[str]] = {}
    for k, v in form.multi_items():
        if k not in ("csrf", "outcome", "_comment", "request_id") and not isinstance(v, UploadFile):
            plain.setdefault(k, []).append(str(v))
    values: dict[str, Any] = {k: v if len(v) > 1 else v[0] for k, v in plain.items()}
    try:
        # each chosen file is uploaded first; the field then names it (and keeps it should the form be refused)
        for name, upload in ((k, v) for k, v in form.multi_items() if isinstance(v, UploadFile) and v.filename):
            record = await run_in_threadpool(get_coopflow(request).upload_document, session[0], project_id,
                                             upload.file, upload.filename or "", task_id=task_id, field=name)
            values[name] = record["sha256"]
    except DomainError as exc:
        if exc.code == "not_found":
            return error_page(request, 404)
        return await run_in_threadpool(_task_response, request, session[0], project_id, task_id, values=values,
                                       errors={name: exc.message}, status=STATUS.get(exc.code, 400))
    try:
        await get_coopflow(request).complete_task(
            session[0], project_id, task_id, data={k: v for k, v in values.items() if v != ""},
            outcome=str(form["outcome"]) if form.get("outcome") else None,
            comment=str(form.get("_comment", "")) or None, request_id=str(form.get("request_id", "")) or None,
            via=None)
    except InvalidData as exc:
        errors = exc.details if isinstance(exc.details, dict) else {}
        whole = errors.get("data") or errors.get("comment")  # not one field's fault: said above the form
        return await run_in_threadpool(_task_response, request, session[0], project_id, task_id, values=values,
                                       errors=errors, message=t.validation(whole) if whole else None, status=422)
    except DomainError as exc:
        known = ("task_closed", "not_assigned", "store_unavailable", "temporal_unavailable")
        text = t(exc.code) if exc.code in known else exc.message
        return await run_in_threadpool(_task_response, request, session[0], project_id, task_id, values=values,
                                       errors={}, message=text, status=STATUS.get(exc.code, 400))
    return RedirectResponse(f"/inbox?done={task_id}", status_code=303)


def _too_large_text(request: Request, size: int) -> str:
    """Why a form too large to read was refused, fitting what was sent: a form with a document (multipart)
    is limited by the document's size, the one its upload field states; any other by ``FORM_BODY_BYTES``."""
    t, sent = translator(request), f"{size / 2**20:.1f}"
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        return t("document_too_large", size=sent, limit=_document_mb(request))
    return t("form_too_large", size=sent, limit=FORM_BODY_BYTES // 2**20)


def _document_mb(request: Request) -> int:
    """The largest document in MB, as the upload fields say and the upload checks (``BodyLimit`` too)."""
    return round(get_coopflow(request).max_document_bytes / 2**20)


def _task_response(request: Request, actor: Any, project_id: str, task_id: str, *, values: dict[str, Any],
                   errors: dict[str, str], message: str | None = None, status: int = 200,
                   ask: dict[str, Any] | None = None, held_saved: bool = False) -> Response:
    """The task page; ``ask`` is a refused request for more time: what was typed, and its errors by field;
    ``held_saved``: who holds it was just changed."""
    coopflow = get_coopflow(request)
    try:
        project = coopflow.show_project(actor, project_id, via="page")
    except DomainError as exc:
        return error_page(request, 503, exc.code) if exc.code == "personal_data_locked" else error_page(request, 404)
    task = next((x for x in project["tasks"] if x["id"] == task_id), None)
    if task is None:
        return error_page(request, 404)
    template = coopflow.template_of(project)
    step = template.step(task["step"])
    if message is None and task["status"] != "open":
        message = translator(request)("task_closed")
    return render(request, "task.html", status=status, project=project, task=task, step=step, template=template,
                  fields=step.form, values=values, errors=errors, message=message,
                  max_document_mb=_document_mb(request),
                  **task_context(project, task, template), reason=asked_reason(coopflow, actor, project, task),
                  may_send=may_send(actor, project, task, template),
                  may_ask=task["status"] == "open" and task["assignee"] not in (project["lead"], "auditor")
                  and task["step"] != "extension_decision" and actor.org == task["assignee"],
                  ask=ask or {"errors": {}}, request_id=secrets.token_urlsafe(16),
                  holder_choices=coopflow.holder_choices(actor, project, task), held_saved=held_saved)

