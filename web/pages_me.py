"""Pages: the substitute section of "My settings" (``/settings``, web/pages_settings.py; ``/me`` leads there):
naming a colleague who stands in while I am away, and ending it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from domain import DomainError
from web.deps import SessionDep, get_coopflow
from web.errors import STATUS
from web.pages import error_page
from web.pages_settings import page as settings_page
from web.render import require_session, translator
from web.security import same

router = APIRouter(include_in_schema=False)


@router.get("/me")
def me() -> Response:
    """The settings page has every section, the substitute's too."""
    return RedirectResponse("/settings#substitute", status_code=303)


@router.post("/me/substitute")
async def name_substitute(request: Request, _session: SessionDep) -> Response:
    """The substitute section's form: a colleague and the first and last day; ``end`` ends it instead."""
    session = require_session(request)
    form = await request.form()
    if not same(str(form.get("csrf", "")), session[1]["csrf"]):
        return error_page(request, 403, "The form expired. Reload the page and try again.")
    coopflow = get_coopflow(request)
    if form.get("end"):
        await run_in_threadpool(coopflow.end_substitute, session[0])
        return RedirectResponse("/settings?said=substitute_ended#substitute", status_code=303)
    typed = {k: str(form.get(k, "")).strip() for k in ("user", "from", "until")}
    try:
        await run_in_threadpool(coopflow.set_substitute, session[0], user=typed["user"], starts=typed["from"],
                                ends=typed["until"])
    except DomainError as exc:
        t = translator(request)
        field = next(iter(exc.details), "") if isinstance(exc.details, dict) else ""
        errors = {field: t.problem(exc.code, exc.details, exc.message)} if field in typed else {}
        return await run_in_threadpool(settings_page, request, STATUS.get(exc.code, 400),
                                       substitute_form={**typed, "errors": errors or {"user": exc.message}})
    return RedirectResponse("/settings?said=substitute_saved#substitute", status_code=303)
