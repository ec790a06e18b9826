"""`coopflow temporal setup`: make the configured Temporal namespace ready for coopflow."""

from __future__ import annotations

from typing import Annotated

import typer

from commands.common import JsonOpt, Runtime, output, run

temporal_app = typer.Typer(help="The Temporal cluster coopflow runs on.", no_args_is_help=True)


@temporal_app.command("setup")
def temporal_setup(
    retention_days: Annotated[int, typer.Option(
        min=1, max=3650, help="How long Temporal keeps a closed project's history, if the namespace is created.")] = 30,
    json_: JsonOpt = False,
) -> None:
    """Create the namespace (COOPFLOW_TEMPORAL_NAMESPACE) if missing, register coopflow's search
    attributes on it, create (or update) the daily checkpoint schedule and start the daily digests. Safe to
    run again; run it once per cluster before the first worker starts."""
    from services.temporal import connect, setup_namespace

    settings = Runtime().settings

    async def go() -> dict[str, object]:
        return await setup_namespace(await connect(settings), retention_days=retention_days,
                                     task_queue=settings.task_queue)

    done = run(go())
    added = done["search_attributes_added"]
    text = (f"Temporal at {settings.temporal_address}, namespace {done['namespace']}: "
            + ("created; " if done["namespace_created"] else "exists; ")
            + (f"search attributes added: {', '.join(added)}." if added  # type: ignore[arg-type]
               else "search attributes already registered.")
            + f" Daily checkpoint schedule {done['checkpoint_schedule']}. Daily digests {done['digests']}.")
    output(json_, {"address": settings.temporal_address, **done}, text)


@temporal_app.command("new-key")
def temporal_new_key(
    key_id: Annotated[str, typer.Option("--id", help="The new key's id (kept in each sealed payload).")] = "",
    json_: JsonOpt = False,
) -> None:
    """Print a new payload encryption key for COOPFLOW_CODEC_KEYS. To rotate: put it first, keep the
    old ones after it until no open history needs them."""
    from datetime import UTC, datetime

    from services.codec import new_key

    key = new_key(key_id or datetime.now(UTC).strftime("k%Y%m%d"))
    output(json_, {"key": key}, key)
