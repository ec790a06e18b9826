"""The language switcher on every page: a form, so that what a signed-in user keeps changes only with the
session's CSRF token; a visitor who is not signed in keeps the choice in this browser only."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from domain import Actor
from web.deps import SessionDep, get_coopflow
from web.i18n import LANGUAGES
from web.pages import error_page, safe_next
from web.render import remember_language
from web.security import same

router = APIRouter(include_in_schema=False)


@router.post("/language")
async def choose_language(request: Request, session: SessionDep) -> Response:
    """The page the form was on again, in the language chosen: this browser's pages from now on, and a
    signed-in user's own language (their next log-in, in any browser, and their mail)."""
    form = await request.form()
    lang, target = str(form.get("lang", "")), safe_next(str(form.get("next", "")))
    if session is not None and not same(str(form.get("csrf", "")), session[1]["csrf"]):
        return error_page(request, 403, "The form expired. Reload the page and try again.")
    response = RedirectResponse(target, status_code=303)
    if lang in LANGUAGES:  # anything else: the page again, as it was
        remember_language(response, lang)
        if session is not None:
            await run_in_threadpool(_store_language, request, session[0], lang)
    return response


def _store_language(request: Request, actor: Actor, lang: str) -> None:
    coopflow = get_coopflow(request)
    if coopflow.language(actor) != lang:
        coopflow.set_language(actor, lang)
