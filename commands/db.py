"""`coopflow db upgrade`: apply the store's schema migrations (and grant the app's role its rights)."""

from __future__ import annotations

from typing import Annotated

import typer

from commands.common import JsonOpt, Runtime, output
from store import make_engine, upgrade
from store.roles import grant_app_role

db_app = typer.Typer(help="The store's schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(
    app_role: Annotated[str, typer.Option(
        "--app-role", help="PostgreSQL: then grant this role (the one web and workers connect as) what the app "
                           "needs and no more: append-only tables only appended to, nothing owned.")] = "",
    json_: JsonOpt = False,
) -> None:
    """Apply every pending migration to the configured database (COOPFLOW_DATABASE_URL), as the role that
    owns the schema."""
    settings = Runtime().settings
    engine = make_engine(settings.store_url)
    before, now = upgrade(engine)
    url = engine.url.render_as_string(hide_password=True)
    text = f"{url}: already at revision {now}." if before == now else f"{url}: upgraded from {before} to {now}."
    result: dict[str, object] = {"database": url, "from": before, "to": now}
    if app_role:
        granted = grant_app_role(engine, app_role)
        result["app_role"] = {"role": app_role, **granted}
        text += (f"\n{app_role} may append to {', '.join(granted['append_only'])}; read and write "
                 f"{len(granted['read_write'])} other tables; owns nothing.")
    output(json_, result, text)
