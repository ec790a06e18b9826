"""`coopflow documents …`: the uploaded documents' upkeep."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from commands.common import JsonOpt, Runtime, output

documents_app = typer.Typer(help="Uploaded documents: removing the ones no completion used.", no_args_is_help=True)


def _report(found: list[dict[str, Any]], dry_run: bool) -> str:
    if not found:
        return "No unused documents that old."
    lines = [f"{d['project_id']}  {d['uploaded_at'][:10]}  {d['size']:>10,} bytes  {d['sha256'][:12]}…  {d['name']}"
             for d in found]
    total = sum(d["size"] for d in found)
    verb = "Would remove" if dry_run else "Removed"
    return "\n".join([*lines, f"{verb} {len(found)} unused document{'s' if len(found) != 1 else ''} "
                                f"({total:,} bytes)."])


@documents_app.command("prune")
def prune(
    older_than_days: Annotated[int, typer.Option(
        "--older-than-days", min=1, help="Only uploads at least this many days old.")] = 30,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List them; remove nothing.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Remove uploads no completion named, at least --older-than-days old; their bytes once no project has them."""
    found = Runtime().app_without_temporal().prune_documents(older_than_days=older_than_days, dry_run=dry_run)
    output(json_, found, lambda ds: _report(ds, dry_run))
