"""`coopflow project …`, `coopflow tasks`, `coopflow task complete`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from commands.common import AsOpt, JsonOpt, LimitOpt, Runtime, output, parse_json_option, run, task_line

project_app = typer.Typer(help="Start, list, show and change projects.", no_args_is_help=True)
task_app = typer.Typer(help="Complete tasks, ask for more time.", no_args_is_help=True)


def _project_text(p: dict[str, Any]) -> str:
    lines = [f"{p['id']}  {p['title']}", f"  template {p['template']['id']} v{p['template']['version']}, "
             f"lead {p['lead']}, partners {', '.join(p['partners'])}",
             f"  status {p['status']}, phase {p['phase']}" + (f"  (as of {p['as_of']})" if "as_of" in p else "")]
    if p.get("incident"):
        i = p["incident"]
        lines.append(f"  INCIDENT since {i['since']}: the store refused its events from seq {i['seq']} on; the "
                     f"workflow keeps them and waits for `coopflow incident retry {p['id']}`.\n    {i['reason']}")
    if p.get("personal_data"):
        lines.append("  " + _personal_text(p["personal_data"]))
    if "tasks" in p:
        lines += ["  tasks:"] + [f"    {task_line(t, with_project=False)}" for t in p["tasks"]]
    return "\n".join(lines)


def _personal_text(d: dict[str, Any]) -> str:
    """The project's personal data in one line (its values: `--json`, for those who may read them)."""
    if d["status"] == "erased":
        by = "the system (retention period ended)" if d["erased_by"]["role"] == "system" else \
            f"{d['erased_by']['org']} ({d['erased_by']['role']})"
        return f"personal data: ERASED at {d['erased_at']} by {by}: {d['reason']}"
    if not d["sealed"]:
        return "personal data: in clear (started before sealing), cannot be erased"
    erase = f", erased by its retention period at {d['erase_at']}" if d.get("erase_at") else ""
    return f"personal data: sealed, kept{erase} (values: --json)"


@project_app.command("start")
def start(
    as_: AsOpt,
    title: Annotated[str, typer.Option(help="The project's title.")],
    partner: Annotated[list[str], typer.Option(help="A partner organisation id; repeat for each.")],
    template: Annotated[str, typer.Option(help="Template id.")] = "cooperation",
    report_count: Annotated[int | None, typer.Option(help="Number of progress reports (default 3).")] = None,
    report_every: Annotated[str | None, typer.Option(help="Interval between reports, ISO 8601 (default P1M).")] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="Repeat-safe key: a retry finds the project the first one started.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Start a project led by the organisation of the user given with --as."""
    parameters = {k: v for k, v in (("report_count", report_count), ("report_every", report_every)) if v is not None}

    async def go() -> dict[str, Any]:
        rt = Runtime()
        actor = rt.actor(as_)
        return await (await rt.app()).start_project(actor, title=title, partners=partner, template=template,
                                                    parameters=parameters, request_id=idempotency_key)

    project = run(go())
    output(json_, project, lambda p: "Started project " + _project_text(p))


@project_app.command("show")
def show(
    project_id: Annotated[str, typer.Argument(metavar="PROJECT")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Rebuild the state at this ISO 8601 moment.")] = None,
    as_: Annotated[str | None, typer.Option("--as", help="Show it as this user sees it.")] = None,
    json_: JsonOpt = False,
) -> None:
    """A project's state and tasks, now or as it was at --as-of."""
    rt = Runtime()  # personal values are shown (opened, the reading recorded) only in the JSON
    shown = rt.app_without_temporal().show_project(rt.actor(as_), project_id, as_of=as_of,
                                                   via="api" if json_ else None)
    output(json_, shown, _project_text)


@project_app.command("list")
def list_(as_: Annotated[str | None, typer.Option("--as", help="List what this user may see.")] = None,
          json_: JsonOpt = False, limit: LimitOpt = None) -> None:
    """The projects you may see (all of them in operator mode), the earliest started first."""
    rt = Runtime()
    projects = rt.app_without_temporal().every_project(rt.actor(as_), limit)
    output(json_, projects, lambda ps: "\n".join(_project_text(p) for p in ps) or "No projects.")


def tasks(as_: AsOpt, json_: JsonOpt = False, limit: LimitOpt = None,
          holder: Annotated[str | None, typer.Option(help="me: the tasks that user holds (and those of whom they "
                                                          "stand in for today); none: those nobody holds.")] = None
          ) -> None:
    """The open tasks of that user's organisation, the earliest due first (overdue ones are due earliest)."""
    rt = Runtime()
    found = rt.app_without_temporal().list_tasks(rt.actor(as_), limit, holder=holder)
    output(json_, found, lambda ts: "\n".join(task_line(t) for t in ts) or "No open tasks.")


@task_app.command("complete")
def complete(
    project_id: Annotated[str, typer.Argument(metavar="PROJECT")],
    task_id: Annotated[str, typer.Argument(metavar="TASK")],
    as_: AsOpt,
    data: Annotated[str | None, typer.Option(help='The form as JSON, e.g. \'{"summary": "…"}\'.')] = None,
    outcome: Annotated[str | None, typer.Option(help="The outcome of a decision step.")] = None,
    comment: Annotated[str | None, typer.Option(help="A comment kept in the audit trail.")] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="Repeat-safe key: a retry returns the first result.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Complete a task as the user given with --as."""
    form = parse_json_option(data, "--data")

    async def go() -> dict[str, Any]:
        rt = Runtime()
        actor = rt.actor(as_)
        app = await rt.app()
        return await app.complete_task(actor, project_id, task_id, data=form, outcome=outcome,
                                       comment=comment, request_id=idempotency_key, via="api" if json_ else None)

    task = run(go())
    output(json_, task, lambda t: "Completed " + task_line(t))


@project_app.command("change")
def change(
    project_id: Annotated[str, typer.Argument(metavar="PROJECT")],
    as_: AsOpt,
    kind: Annotated[str, typer.Option(help="extend_deadline, waive, reassign, add_partner, withdraw_partner, cancel.")],
    reason: Annotated[str, typer.Option(help="Why: it goes into the audit trail.")],
    task: Annotated[str | None, typer.Option(help="The task (extend_deadline, waive, reassign).")] = None,
    due: Annotated[str | None, typer.Option(help="The new due date, ISO 8601 (extend_deadline).")] = None,
    org: Annotated[str | None, typer.Option(help="The organisation (reassign, add_partner, withdraw_partner).")] = None,
    idempotency_key: Annotated[str | None, typer.Option(help="Repeat-safe key.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Change a running project, as a coordinator of its lead organisation."""
    async def go() -> dict[str, Any]:
        rt = Runtime()
        actor = rt.actor(as_)
        return await (await rt.app()).change_project(actor, project_id, kind=kind, reason=reason, task_id=task,
                                                     due_at=due, org=org, request_id=idempotency_key,
                                                     via="api" if json_ else None)

    output(json_, run(go()), lambda p: f"Changed ({kind}): " + _project_text(p))


@task_app.command("extension")
def extension(
    project_id: Annotated[str, typer.Argument(metavar="PROJECT")],
    task_id: Annotated[str, typer.Argument(metavar="TASK")],
    as_: AsOpt,
    due: Annotated[str, typer.Option(help="The due date asked for, ISO 8601.")],
    reason: Annotated[str, typer.Option(help="Why more time is needed.")],
    idempotency_key: Annotated[str | None, typer.Option(help="Repeat-safe key.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Ask for more time for an open task; the lead's coordinators decide."""
    async def go() -> dict[str, Any]:
        rt = Runtime()
        actor = rt.actor(as_)
        return await (await rt.app()).request_extension(actor, project_id, task_id, due_at=due, reason=reason,
                                                        request_id=idempotency_key, via="api" if json_ else None)

    output(json_, run(go()), lambda p: "Asked for more time: " + _project_text(p))
