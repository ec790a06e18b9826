"""`coopflow audit …`: the trail of a project, its verification and its export."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from commands.common import JsonOpt, Runtime, output, run
from domain import InvalidRequest, verify_chain

audit_app = typer.Typer(help="Read, verify and export the audit trail.", no_args_is_help=True)
ProjectArg = Annotated[str, typer.Argument(metavar="PROJECT")]
OptionalProject = Annotated[str | None, typer.Argument(metavar="[PROJECT]")]
AsOptional = Annotated[str | None, typer.Option("--as", help="Act as this user (default: operator).")]


def event_line(e: dict[str, Any], emails: dict[str, str]) -> str:
    actor = e["actor"]
    who = f"{actor['org']}/{actor['role']} {emails.get(actor['user'], actor['user'])}" if actor else "(system)"
    where = " ".join(x for x in (e["phase"], e["step"], e["task_id"]) if x)
    return f"{e['seq']:>5}  {e['at'][:19].replace('T', ' ')}  {e['type']:<20} {where:<45} {who}"


@audit_app.command("events")
def events(
    project_id: ProjectArg,
    actor: Annotated[str | None, typer.Option("--actor", help="Only events by this user (e-mail).")] = None,
    org: Annotated[str | None, typer.Option("--org", help="Only events by users of this organisation.")] = None,
    type_: Annotated[str | None, typer.Option("--type", help="Only events of this type, e.g. StepOpened.")] = None,
    since: Annotated[str | None, typer.Option(help="Only events at or after this ISO 8601 moment.")] = None,
    until: Annotated[str | None, typer.Option(help="Only events at or before this ISO 8601 moment.")] = None,
    as_: AsOptional = None,
    json_: JsonOpt = False,
) -> None:
    """A project's events in order, from the audit store, optionally filtered."""
    rt = Runtime()
    app = rt.app_without_temporal()
    found = list(app.list_events(rt.actor(as_), project_id, by_email=actor, org=org, type=type_,
                                 since=since, until=until))
    emails = app.user_emails()
    output(json_, found, lambda es: "\n".join(event_line(e, emails) for e in es) or "No events match.")


def _verdict(r: dict[str, Any]) -> str:
    if r["ok"]:
        text = f"OK: {r['count']} events, the chain is unbroken. Head {r['head']}"
        if "history" in r:
            h = r["history"]
            text += ("\n" + h["reason"]) if not h["available"] else (
                f"\nTemporal agrees: {h['held']} events recorded in its history, "
                f"{h['updates']} completions." + (f"\n{h['reason']}" if h.get("reason") else ""))
        return text
    return "\n".join([f"BROKEN: {len(r['problems'])} problem(s) in {r['count']} events"]
                     + [f"  seq {p['seq']}: {p['reason']}" for p in r["problems"]])


@audit_app.command("verify")
def verify(
    project_id: OptionalProject = None,
    all_: Annotated[bool, typer.Option("--all", help="Verify every project (a summary, with progress).")] = False,
    file: Annotated[Path | None, typer.Option("--file", help="Verify a JSONL export offline: no database.")] = None,
    against_history: Annotated[bool, typer.Option(
        "--against-history", help="Also compare with the workflow's events and the updates in its history.")] = False,
    as_: AsOptional = None,
    json_: JsonOpt = False,
) -> None:
    """Recompute the hash chain; exit code 1 when it is broken."""
    if [project_id is not None, all_, file is not None].count(True) != 1:
        raise typer.BadParameter("give exactly one of PROJECT, --all or --file")
    if file is not None:
        from services.audit import read_export

        if not file.exists():
            raise InvalidRequest(f"There is no file {file}.")
        result = verify_chain(read_export(file))
    elif all_:
        result = _verify_all(Runtime(), as_, against_history)
    elif against_history:
        async def go() -> dict[str, Any]:
            rt = Runtime()
            return await (await rt.app()).verify_against_history(rt.actor(as_), project_id or "")
        result = run(go())
    else:
        rt = Runtime()
        result = rt.app_without_temporal().verify(rt.actor(as_), project_id or "")
    output(json_, result, _summary if all_ else _verdict)
    if not result["ok"]:
        raise typer.Exit(1)


def _verify_all(rt: Runtime, as_: str | None, against_history: bool) -> dict[str, Any]:
    """Every project the actor may verify; with ``against_history`` each is compared with Temporal too."""
    actor = rt.actor(as_)

    async def go() -> list[dict[str, Any]]:
        app = await rt.app() if against_history else rt.app_without_temporal()
        found = []
        with typer.progressbar(app.verifiable_projects(actor), label="Verifying", file=sys.stderr,
                               show_pos=True) as bar:
            for project in bar:
                r = (await app.verify_against_history(actor, project["id"]) if against_history
                     else app.verify(actor, project["id"]))
                found.append({"project": project["id"], "title": project["title"], **r})
        return found

    results = run(go())
    broken = [r for r in results if not r["ok"]]
    return {"ok": not broken, "projects": len(results), "events": sum(r["count"] for r in results),
            "broken": broken}


def _summary(r: dict[str, Any]) -> str:
    lines = [f"{'OK' if r['ok'] else 'BROKEN'}: {r['projects']} projects, {r['events']} events, "
             f"{len(r['broken'])} broken."]
    for b in r["broken"]:
        lines += [f"  {b['project']} ({b['title']}):"] + [f"    seq {p['seq']}: {p['reason']}" for p in b["problems"]]
    return "\n".join(lines)


@audit_app.command("export")
def export(
    project_id: ProjectArg,
    format_: Annotated[str, typer.Option("--format", help="jsonl (verifiable offline) or csv.")] = "jsonl",
    output_file: Annotated[Path | None, typer.Option("--output", help="Write here instead of stdout.")] = None,
    as_: AsOptional = None,
) -> None:
    """Every event of a project with actor, role, organisation, task and data; streamed."""
    from services.audit import write_csv, write_jsonl

    if format_ not in ("jsonl", "csv"):
        raise typer.BadParameter("use jsonl or csv", param_hint="--format")
    rt = Runtime()
    app = rt.app_without_temporal()
    trail = app.list_events(rt.actor(as_), project_id)
    if output_file is None:
        write_jsonl(trail, sys.stdout) if format_ == "jsonl" else write_csv(trail, sys.stdout, app.user_emails())
        return
    partial = output_file.with_name(output_file.name + ".partial")  # no half-written export on failure
    with partial.open("w", encoding="utf-8", newline="") as out:
        count = write_jsonl(trail, out) if format_ == "jsonl" else write_csv(trail, out, app.user_emails())
    partial.replace(output_file)
    print(f"Exported {count} events of {project_id} to {output_file}.", file=sys.stderr)
