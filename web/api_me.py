"""The caller's own settings under /api/me (mail preferences, the calendar feed), and the feed itself at
/calendar/<secret>.ics: read without log-in, its secret is the credential."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from web.api import errors, json_body, known_query
from web.deps import ApiActor, CoopflowDep

router = APIRouter(prefix="/api/me", dependencies=[Depends(known_query)], tags=["me"])
feeds = APIRouter(include_in_schema=False)


class Preferences(BaseModel):
    mail: str = Field(description="immediate: a mail for each new task; daily: one digest at 07:00")
    lang: str = Field(description="the language of mail, pages after log-in and the calendar: en, de, sr, mk, sq")
    timezone: str = Field(description="an IANA name such as Europe/Belgrade: when the digest comes")


class PreferencesChange(BaseModel):
    """Only the fields given change; each must be one of its choices (422 names every bad one)."""

    model_config = ConfigDict(extra="forbid")
    mail: str | None = Field(default=None, max_length=20, description="immediate or daily")
    lang: str | None = Field(default=None, max_length=10, description="en, de, sr, mk or sq")
    timezone: str | None = Field(default=None, max_length=64, description="an IANA timezone name")


class CalendarUrl(BaseModel):
    url: str = Field(description="<public url>/calendar/<secret>.ics; shown this once (only its hash is kept)")


class CalendarState(BaseModel):
    active: bool = Field(description="whether a feed's URL works now")
    created_at: str | None = Field(description="when its URL was made")


@router.get("/preferences", responses=errors())
async def preferences(actor: ApiActor, coopflow: CoopflowDep) -> Preferences:
    """How my mail comes (each new task at once, or a daily digest), its language and my timezone."""
    return Preferences(**await coopflow.read_store(coopflow.preferences, actor))


@router.put("/preferences", dependencies=[Depends(json_body)], responses=errors(413, 415))
async def set_preferences(change: PreferencesChange, actor: ApiActor, coopflow: CoopflowDep) -> Preferences:
    """Change my mail preferences (those given); a bad value is named and nothing changes."""
    return Preferences(**await run_in_threadpool(coopflow.set_preferences, actor, mail=change.mail,
                                                 lang=change.lang, timezone=change.timezone))


@router.get("/calendar", responses=errors())
async def calendar(actor: ApiActor, coopflow: CoopflowDep) -> CalendarState:
    """Whether I have a calendar feed, and since when (its URL cannot be shown again: renew it)."""
    return CalendarState(**await coopflow.read_store(coopflow.calendar, actor))


@router.post("/calendar", status_code=201, responses=errors())
async def renew_calendar(request: Request, actor: ApiActor, coopflow: CoopflowDep) -> CalendarUrl:
    """A new secret URL of my calendar feed (my open tasks, RFC 5545); the URL before stops working."""
    return CalendarUrl(**await run_in_threadpool(coopflow.renew_calendar, actor,
                                                 public_url=request.app.state.settings.public_url))


@router.delete("/calendar", status_code=204, responses=errors())
async def revoke_calendar(actor: ApiActor, coopflow: CoopflowDep) -> Response:
    """My calendar feed's URL stops working (404); there is none until I make a new one."""
    await run_in_threadpool(coopflow.revoke_calendar, actor)
    return Response(status_code=204)


@feeds.api_route("/calendar/{secret}.ics", methods=["GET", "HEAD"])
async def calendar_feed(secret: str, request: Request, coopflow: CoopflowDep) -> Response:
    """The calendar of the feed's person: no log-in, the secret in the URL is the credential; 404 for an unknown
    or revoked one."""
    body = await run_in_threadpool(coopflow.calendar_feed, secret, public_url=request.app.state.settings.public_url)
    return Response(body, media_type="text/calendar; charset=utf-8", headers={
        "Content-Disposition": 'inline; filename="coopflow.ics"', "Cache-Control": "private, max-age=300",
        "X-Robots-Tag": "noindex"})
