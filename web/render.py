"""Rendering pages: language, signed-in user, CSRF token, relative due dates."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlparse

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from domain import Actor, parse_time
from web.deps import session_actor
from web.i18n import LANGUAGES, Translator, negotiate
from web.words import Words

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
LANG_COOKIE = "coopflow_lang"


def translator(request: Request) -> Translator:
    return Translator(negotiate(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE),
                                request.headers.get("accept-language")))


def due_text(t: Translator, due_at: str, now: datetime | None = None) -> tuple[str, bool]:
    """("due in 3 days" | "2 days overdue", overdue?) — the absolute date is shown beside it."""
    now = now or datetime.now(UTC)
    days = (parse_time(due_at).date() - now.date()).days
    overdue = parse_time(due_at) < now
    if overdue:
        n = max(1, -days)
        return (t("overdue_by_one_day") if n == 1 else t("overdue_by_days", n=n)), True
    if days == 0:
        return t("due_today"), False
    return (t("due_in_one_day") if days == 1 else t("due_in_days", n=days)), False


def render(request: Request, name: str, status: int = 200, headers: dict[str, str] | None = None,
           **context: Any) -> HTMLResponse:
    t = translator(request)
    try:
        signed_in = session_actor(request)
    except Exception:  # the store is away: the page still says so, without the signed-in header
        signed_in = None
    try:
        names = request.app.state.coopflow.org_names()
    except Exception:  # the store is away: pages that say so still render
        names = {}
    response = TEMPLATES.TemplateResponse(request, name, status_code=status, headers=headers, context={
        "t": t, "w": Words(t, names), "lang": t.lang, "languages": LANGUAGES,
        "actor": signed_in[0] if signed_in else None,
        "csrf": signed_in[1]["csrf"] if signed_in else "", "due_text": lambda d: due_text(t, d),
        "short_time": lambda s: s[:16].replace("T", " ") if s else "", "here": here(request), **context})
    if request.query_params.get("lang") in LANGUAGES:  # this browser's next pages too; what a signed-in
        remember_language(response, t.lang)            # user keeps changes only by the switcher (POST /language)
    return response


def here(request: Request) -> str:
    """The page the language switcher comes back to: this one, without its ``?lang=``; for the answer to a
    form, the page the form was on (a form's address is not a page)."""
    if request.method == "GET":
        query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "lang"])
        return request.url.path + (f"?{query}" if query else "")
    came_from = urlparse(request.headers.get("referer", ""))
    return (came_from.path or "/") + (f"?{came_from.query}" if came_from.query else "")


def remember_language(response: Response, lang: str) -> None:
    """The browser keeps the language: every page after this one is in it."""
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True)


class LoginRequired(Exception):
    """A page was asked for without a session: answered with a redirect to the log-in page."""


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


def signed_in(request: Request) -> tuple[Actor, dict[str, str]] | None:
    return session_actor(request)


def require_session(request: Request) -> tuple[Actor, dict[str, str]]:
    """The signed-in user and session, or LoginRequired (which redirects to the log-in page)."""
    session = session_actor(request)
    if session is None:
        raise LoginRequired
    return session
