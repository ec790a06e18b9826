"""`coopflow me …`: a person's own settings, as that person (--as): mail preferences, the calendar feed, their
substitute while away; and `coopflow task hold`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from commands.common import AsOpt, JsonOpt, Runtime, output, run, task_line

me_app = typer.Typer(help="A person's own settings: mail preferences, the calendar feed, a substitute while away.",
                     no_args_is_help=True)



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

def _substitute_text(found: dict[str, Any] | None) -> str:
    if found is None:
        return "No substitute."
    now = " (standing in today)" if found["active"] else ""
    return f"Substitute: {found['name']} <{found['user']}>, from {found['from']} until {found['until']}{now}."


@me_app.command("substitute")
def substitute(
    as_: AsOpt,
    user: Annotated[str | None, typer.Option("--user", help="The colleague's e-mail.")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="First day of the absence, YYYY-MM-DD (UTC).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Last day of the absence, YYYY-MM-DD (UTC).")] = None,
    end: Annotated[bool, typer.Option("--end", help="End the substitute's standing in now.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Name a colleague who stands in while you are away (sees and may complete the tasks you hold, gets their
    mail), or --end it; with neither, show who it is."""
    rt = Runtime()
    app = rt.app_without_temporal()
    actor = rt.actor(as_)
    if end:
        if user or from_ or until:
            raise typer.BadParameter("--end takes neither --user nor --from nor --until")
        ended = app.end_substitute(actor)
        output(json_, {"ended": ended}, "Your substitute no longer stands in." if ended else "You had no substitute.")
        return
    if user is None and from_ is None and until is None:
        output(json_, app.substitute(actor), _substitute_text)
        return
    if not (user and from_ and until):
        raise typer.BadParameter("give --user, --from and --until together (or --end)")
    output(json_, app.set_substitute(actor, user=user, starts=from_, ends=until), _substitute_text)


def hold(
    project_id: Annotated[str, typer.Argument(metavar="PROJECT")],
    task_id: Annotated[str, typer.Argument(metavar="TASK")],
    as_: AsOpt,
    to: Annotated[str | None, typer.Option("--to", help="Hand it to this colleague (e-mail).")] = None,
    release: Annotated[bool, typer.Option("--release", help="Nobody holds it any more.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Take a task (the --as user holds it), hand it --to a colleague, or --release it."""
    if to is not None and release:
        raise typer.BadParameter("give --to or --release, not both")

    async def go() -> dict[str, Any]:
        rt = Runtime()
        actor = rt.actor(as_)
        holder = None if release else (to or as_)
        return await (await rt.app()).hold_task(actor, project_id, task_id, holder, via="api" if json_ else None)

    def text(t: dict[str, Any]) -> str:
        who = t["holder"]["name"] if t["holder"] else "nobody"
        return f"{task_line(t)}\nHeld by {who}."

    output(json_, run(go()), text)
