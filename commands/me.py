"""`coopflow me …`: a person's own settings, as that person (--as)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from commands.common import AsOpt, JsonOpt, Runtime, output

me_app = typer.Typer(help="A person's own settings: mail preferences, the calendar feed.", no_args_is_help=True)


def _preferences_text(p: dict[str, Any]) -> str:
    how = "a daily digest at 07:00" if p["mail"] == "daily" else "a mail for each new task"
    return f"mail: {p['mail']} ({how}), language: {p['lang']}, timezone: {p['timezone']}"


@me_app.command("preferences")
def preferences(
    as_: AsOpt,
    mail: Annotated[str | None, typer.Option(
        help="immediate: a mail for each new task; daily: one digest at 07:00 in the timezone.")] = None,
    lang: Annotated[str | None, typer.Option(help="The language of mail and pages: en, de, sr, mk or sq.")] = None,
    timezone: Annotated[str | None, typer.Option(help="An IANA timezone name, e.g. Europe/Belgrade.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Show the user's mail preferences, or change those given (a bad value is named; nothing changes)."""
    rt = Runtime()
    app, actor = rt.app_without_temporal(), rt.actor(as_)
    if mail is None and lang is None and timezone is None:
        found = app.preferences(actor)
    else:
        found = app.set_preferences(actor, mail=mail, lang=lang, timezone=timezone)
    output(json_, found, _preferences_text)


@me_app.command("calendar")
def calendar(
    as_: AsOpt,
    renew: Annotated[bool, typer.Option("--renew", help="A new URL; the one before stops working.")] = False,
    revoke: Annotated[bool, typer.Option("--revoke", help="The URL stops working (404); none is made.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Print the URL of the user's calendar feed (their open tasks, RFC 5545), making one if they have none.
    Only its hash is kept, so an existing URL cannot be shown again: --renew makes a new one."""
    if renew and revoke:
        raise typer.BadParameter("give --renew or --revoke, not both", param_hint="--renew")
    rt = Runtime()
    app, actor = rt.app_without_temporal(), rt.actor(as_)
    if revoke:
        had = app.revoke_calendar(actor)
        output(json_, {"revoked": had}, "The calendar URL no longer works." if had else "There was no calendar URL.")
        return
    state = app.calendar(actor)
    if state["active"] and not renew:
        output(json_, {"url": None, **state},
               f"A calendar URL was made on {state['created_at'][:16].replace('T', ' ')} UTC. It is kept only hashed, "
               "so it cannot be shown again: --renew makes a new one (the old one stops working).")
        return
    made = app.renew_calendar(actor, public_url=rt.settings.public_url)
    output(json_, made, lambda m: str(m["url"]))
