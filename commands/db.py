"""`coopflow db upgrade`: apply the store's schema migrations."""

from __future__ import annotations

import typer

from commands.common import JsonOpt, Runtime, output
from store import make_engine, upgrade

db_app = typer.Typer(help="The store's schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(json_: JsonOpt = False) -> None:
    """Apply every pending migration to the configured database (COOPFLOW_DATABASE_URL)."""
    settings = Runtime().settings
    before, now = upgrade(make_engine(settings.store_url))
    url = make_engine(settings.store_url).url.render_as_string(hide_password=True)
    text = f"{url}: already at revision {now}." if before == now else f"{url}: upgraded from {before} to {now}."
    output(json_, {"database": url, "from": before, "to": now}, text)
