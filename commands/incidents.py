"""`coopflow incident …`: projects paused because the store refused their events."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from commands.common import JsonOpt, Runtime, output, run

incident_app = typer.Typer(help="Projects whose events the store refused, and retrying them.",
                           no_args_is_help=True)
AsOptional = Annotated[str | None, typer.Option("--as", help="Act as this user (default: operator).")]


def _line(i: dict[str, Any]) -> str:
    return (f"{i['project_id']}  since {i['since'][:19].replace('T', ' ')}  from seq {i['seq']}  "
            f"({i['attempts']} attempt{'s' if i['attempts'] != 1 else ''})\n    {i['reason']}")


@incident_app.command("list")
def list_(as_: AsOptional = None, json_: JsonOpt = False) -> None:
    """Open incidents: each project waits for an operator, its events kept by the workflow."""
    rt = Runtime()
    found = rt.app_without_temporal().incidents(rt.actor(as_))
    output(json_, found, lambda xs: "\n".join(_line(i) for i in xs) or "No incidents: every project's events "
           "are in the store.")


@incident_app.command("retry")
def retry(project_id: Annotated[str, typer.Argument(metavar="PROJECT")], as_: AsOptional = None,
          json_: JsonOpt = False) -> None:
    """Try a refused write again, once the store has been mended; exit 1 if it is refused again."""
    async def go() -> dict[str, Any]:
        rt = Runtime()
        return await (await rt.app()).retry_incident(rt.actor(as_), project_id)

    progress = run(go())
    resolved = progress["incident"] is None
    output(json_, progress, lambda p: (
        f"Resolved: the store holds all {p['written']} events of {project_id}." if resolved else
        f"Refused again: {p['incident']['reason']}"))
    if not resolved:
        raise typer.Exit(1)
