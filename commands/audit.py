"""`coopflow audit …`: the trail of a project and its verification."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from commands.common import JsonOpt, Runtime, output

audit_app = typer.Typer(help="Read and verify the audit trail.", no_args_is_help=True)
ProjectArg = Annotated[str, typer.Argument(metavar="PROJECT")]
AsOptional = Annotated[str | None, typer.Option("--as", help="Act as this user (default: operator).")]


def event_line(e: dict[str, Any]) -> str:
    who = f"{e['actor']['org']}/{e['actor']['role']} ({e['actor']['user']})" if e["actor"] else "(system)"
    where = " ".join(x for x in (e["phase"], e["step"], e["task_id"]) if x)
    return f"{e['seq']:>5}  {e['at'][:19].replace('T', ' ')}  {e['type']:<20} {where:<45} {who}"


@audit_app.command("events")
def events(project_id: ProjectArg, as_: AsOptional = None, json_: JsonOpt = False) -> None:
    """Every event of a project, in order, from the audit store."""
    rt = Runtime()
    found = list(rt.app_without_temporal().list_events(rt.actor(as_), project_id))
    output(json_, found, lambda es: "\n".join(event_line(e) for e in es))


@audit_app.command("verify")
def verify(project_id: ProjectArg, as_: AsOptional = None, json_: JsonOpt = False) -> None:
    """Recompute the hash chain; exit code 1 when it is broken."""
    rt = Runtime()
    result = rt.app_without_temporal().verify(rt.actor(as_), project_id)

    def text(r: dict[str, Any]) -> str:
        if r["ok"]:
            return f"OK: {r['count']} events, the chain is unbroken. Head {r['head']}"
        return "\n".join([f"BROKEN: {len(r['problems'])} problem(s) in {r['count']} events"]
                         + [f"  seq {p['seq']}: {p['reason']}" for p in r["problems"]])

    output(json_, result, text)
    if not result["ok"]:
        raise typer.Exit(1)
