"""Pages: "My settings" (``/me``) — what a person says about themselves. Each concern is a section of its own
in ``me.html`` with its own form and route here: the substitute while away (more sections may follow: mail
preferences, the calendar feed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from domain import Actor, DomainError
from web.deps import SessionDep, get_coopflow
from web.errors import STATUS
from web.pages import error_page
from web.render import render, require_session, translator
from web.security import same

router = APIRouter(include_in_schema=False)
SAID = {"substitute_saved", "substitute_ended"}  # what a redirect may ask the page to say (known words only)


def _page(request: Request, actor: Actor, *, said: str | None = None, status: int = 200,
          substitute_form: dict[str, Any] | None = None) -> Response:
    coopflow = get_coopflow(request)
    return render(request, "me.html", status=status, said=said if said in SAID else None,
                  substitute=coopflow.substitute(actor),
                  colleagues=[p for p in coopflow.colleagues(actor) if p["user_id"] != actor.user],
                  substitute_form=substitute_form or {"errors": {}})


@router.get("/me")
def me(request: Request, said: str | None = None) -> Response:
    session = require_session(request)
    return _page(request, session[0], said=said)


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
        return RedirectResponse("/me?said=substitute_ended#substitute", status_code=303)
    typed = {k: str(form.get(k, "")).strip() for k in ("user", "from", "until")}
    try:
        await run_in_threadpool(coopflow.set_substitute, session[0], user=typed["user"], starts=typed["from"],
                                ends=typed["until"])
    except DomainError as exc:
        t = translator(request)
        field = next(iter(exc.details), "") if isinstance(exc.details, dict) else ""
        errors = {field: t.problem(exc.code, exc.details, exc.message)} if field in typed else {}
        return await run_in_threadpool(_page, request, session[0], status=STATUS.get(exc.code, 400),
                                       substitute_form={**typed, "errors": errors or {"user": exc.message}})
    return RedirectResponse("/me?said=substitute_saved#substitute", status_code=303)
