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
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many, the newest.")] = 100,
    json_: JsonOpt = False,
) -> None:
    """The outbox, newest first: each mail's state, recipient, language and subject (--json: all of it)."""
    if status not in (None, "pending", "sent", "failed"):
        raise typer.BadParameter("use pending, sent or failed", param_hint="--status")
    found = Runtime().app_without_temporal().mail(status=status, project_id=project, limit=limit)
    more = f"\n(the newest {limit}; --limit shows more)" if len(found) == limit else ""
    output(json_, found, lambda ms: "\n".join(_line(m) for m in ms) + more if ms else "No mail.")


@mail_app.command("prune")
def prune(
    older_than_days: Annotated[int, typer.Option(
        "--older-than-days", min=1, help="Only mail sent at least this many days ago.")] = 90,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count them; remove nothing.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Remove mail sent at least --older-than-days ago from the outbox; mail waiting or failed stays."""
    count = Runtime().app_without_temporal().prune_mail(older_than_days=older_than_days, dry_run=dry_run)
    output(json_, {"would_remove" if dry_run else "removed": count, "older_than_days": older_than_days},
           f"{'Would remove' if dry_run else 'Removed'} {count} sent mail(s) older than {older_than_days} days.")
