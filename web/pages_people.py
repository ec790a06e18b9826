"""Pages: who holds a task — the task page's "take it", "hand it on" and (the lead's coordinators) "assign"."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from domain import DomainError
from web.deps import SessionDep, get_coopflow
from web.errors import STATUS
from web.pages import _task_response, error_page
from web.render import require_session, translator
from web.security import same

router = APIRouter(include_in_schema=False)


@router.post("/projects/{project_id}/tasks/{task_id}/holder")
async def hold(request: Request, project_id: str, task_id: str, _session: SessionDep) -> Response:
    """The task page's forms: ``user`` (an e-mail) holds the task from now on; empty: nobody."""
    session = require_session(request)
    form = await request.form()
    if not same(str(form.get("csrf", "")), session[1]["csrf"]):
        return error_page(request, 403, "The form expired. Reload the page and try again.")
    user = str(form.get("user", "")).strip() or None
    try:
        await get_coopflow(request).hold_task(session[0], project_id, task_id, user, via=None)
    except DomainError as exc:
        if exc.code == "not_found":
            return error_page(request, 404)
        t = translator(request)
        text = t(exc.code) if exc.code in ("task_closed", "not_assigned") else t.problem(
            exc.code, exc.details, exc.message)
        return await run_in_threadpool(_task_response, request, session[0], project_id, task_id, values={},
                                       errors={}, message=text, status=STATUS.get(exc.code, 400))
    return RedirectResponse(f"/projects/{project_id}/tasks/{task_id}?held=1#holder", status_code=303)
