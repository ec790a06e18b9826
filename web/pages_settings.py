"""The settings page: how my mail comes (each new task, or a daily digest), its language and my timezone; my
calendar feed's address, made, renewed or revoked."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from domain import Actor, DomainError
from store.preferences import MAIL, timezones
from web.deps import SessionDep, get_coopflow
from web.i18n import LANGUAGES
from web.render import remember_language, render, require_session
from web.security import same

router = APIRouter(include_in_schema=False)
EXPIRED = "The form expired. Reload the page and try again."


def zone_choices(current: str) -> list[str]:
    """The timezones the page offers: UTC and Europe's (where coopflow's partners are), and the person's own
    if it is elsewhere (the API and `coopflow me preferences` take any IANA name)."""
    zones = sorted(z for z in timezones() if z.startswith("Europe/"))
    return ["UTC", *([current] if current not in zones and current != "UTC" else []), *zones]


def page(request: Request, status: int = 200, **context: Any) -> Response:
    actor = require_session(request)[0]
    coopflow = get_coopflow(request)
    values = context.pop("values", None) or coopflow.preferences(actor)
    return render(request, "me_settings.html", status=status, values=values, mail_choices=MAIL,
                  lang_choices=LANGUAGES, zones=zone_choices(values["timezone"]),
                  calendar=coopflow.calendar(actor), substitute=coopflow.substitute(actor),
                  colleagues=[p for p in coopflow.colleagues(actor) if p["user_id"] != actor.user],
                  **{"errors": {}, "saved": False, "feed_url": None, "feed_revoked": False, "said": None,
                     "substitute_form": {"errors": {}}, **context})


SAID = {"substitute_saved", "substitute_ended"}  # what a redirect may ask the page to say (known words only)


@router.get("/settings")
def settings_page(request: Request, saved: str = "", said: str = "") -> Response:
    return page(request, saved=bool(saved), said=said if said in SAID else None)


async def _form(request: Request) -> tuple[Actor, FormData]:
    """The signed-in user and their form; a form without their session's CSRF token is refused (403, the page
    that says so)."""
    actor, session = require_session(request)  # read in a thread by SessionDep
    form = await request.form()
    if not same(str(form.get("csrf", "")), session["csrf"]):
        raise HTTPException(403, EXPIRED)
    return actor, form


@router.post("/settings/preferences")
async def save_preferences(request: Request, _session: SessionDep) -> Response:
    actor, form = await _form(request)
    values = {name: str(form.get(name, ""))[:100] for name in ("mail", "lang", "timezone")}
    try:
        saved = await run_in_threadpool(get_coopflow(request).set_preferences, actor, **values)
    except DomainError as exc:
        errors = exc.details if isinstance(exc.details, dict) else {}
        return await run_in_threadpool(page, request, 422, values=values, errors=errors)
    response = RedirectResponse("/settings?saved=1", status_code=303)
    remember_language(response, saved["lang"])  # the pages follow the language chosen, as the mail does
    return response


@router.post("/settings/calendar")
async def change_calendar(request: Request, _session: SessionDep) -> Response:
    """``renew``: a new address, shown on this page once (only its hash is kept); ``revoke``: none works."""
    actor, form = await _form(request)
    coopflow = get_coopflow(request)
    if form.get("action") == "revoke":
        await run_in_threadpool(coopflow.revoke_calendar, actor)
        return await run_in_threadpool(page, request, feed_revoked=True)
    made = await run_in_threadpool(coopflow.renew_calendar, actor, public_url=request.app.state.settings.public_url)
    return await run_in_threadpool(page, request, feed_url=made["url"])
