"""`coopflow mail …`: the outbox."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from commands.common import JsonOpt, Runtime, output

mail_app = typer.Typer(help="Mail: what was sent, what waits in the outbox, what failed.", no_args_is_help=True)


def _line(m: dict[str, Any]) -> str:
    when = (m["sent_at"] or m["created_at"])[:16].replace("T", " ")
    extra = f"  ({m['attempts']} attempts: {m['last_error']})" if m["status"] == "failed" else ""
    return f"{m['status']:<8} {when}  {m['to_address']:<34} {m['lang']}  {m['subject']}{extra}"


@mail_app.command("list")
def list_(
    status: Annotated[str | None, typer.Option(help="Only pending, sent or failed mail.")] = None,
    project: Annotated[str | None, typer.Option(help="Only the mail of this project.")] = None,
    json_: JsonOpt = False,
) -> None:
    """The outbox, oldest first: each mail's state, recipient, language and subject (--json: all of it)."""
    if status not in (None, "pending", "sent", "failed"):
        raise typer.BadParameter("use pending, sent or failed", param_hint="--status")
    found = Runtime().app_without_temporal().mail(status=status, project_id=project)
    output(json_, found, lambda ms: "\n".join(_line(m) for m in ms) or "No mail.")
