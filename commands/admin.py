"""`coopflow org …` and `coopflow user …`."""

from __future__ import annotations

from typing import Annotated

import typer

from commands.common import JsonOpt, Runtime, output, run
from store import accounts

org_app = typer.Typer(help="Organisations.", no_args_is_help=True)
user_app = typer.Typer(help="Users: adding, their API tokens and passwords, disabling and removing.",
                       no_args_is_help=True)


@org_app.command("add")
def org_add(
    org_id: Annotated[str, typer.Argument(metavar="ID", help="Lower case, digits and '-', e.g. caritas-rs.")],
    name: Annotated[str, typer.Option(help="The organisation's name.")],
    country: Annotated[str, typer.Option(help="Two-letter country code, e.g. RS.")],
    json_: JsonOpt = False,
) -> None:
    """Add an organisation."""
    org = accounts.add_org(Runtime().engine, org_id=org_id, name=name, country=country)
    output(json_, org.model_dump(), lambda o: f"Added organisation {o['id']} ({o['name']}, {o['country']}).")


@org_app.command("list")
def org_list(json_: JsonOpt = False) -> None:
    """All organisations, each with its witness when it registered one."""
    from store.witnesses import witnesses

    engine = Runtime().engine
    registered = witnesses(engine)
    orgs = [{**o.model_dump(), "witness": registered.get(o.id)} for o in accounts.list_orgs(engine)]
    output(json_, orgs, lambda os: "\n".join(
        f"{o['id']}  {o['country']}  {o['name']}" + (f"  witness {o['witness']['url']} {o['witness']['key']}"
                                                      if o["witness"] else "") for o in os) or "None yet.")


@org_app.command("witness")
def org_witness(
    org_id: Annotated[str, typer.Argument(metavar="ORG", help="The organisation's id.")],
    url: Annotated[str | None, typer.Option("--url", help="The witness's URL, as its administrator gave it "
                                                          "(coopflow posts to <URL>/add-checkpoint).")] = None,
    key: Annotated[str | None, typer.Option("--key", help="The witness's verifier key (`coopflow witness init` "
                                                          "printed it).")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Stop asking this organisation's witness.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Register the witness an organisation runs (a new one replaces the old), or --remove it; each checkpoint
    of the organisation's projects is then sent to it to cosign."""
    from services.witnessing import register_witness
    from store.witnesses import remove_witness

    engine = Runtime().engine
    if remove:
        if url or key:
            raise typer.BadParameter("--remove takes neither --url nor --key")
        gone = remove_witness(engine, org_id)
        output(json_, {"org": org_id, "removed": gone},
               lambda r: f"Removed the witness of {org_id}." if gone else f"{org_id} had no witness.")
        return
    if not url or not key:
        raise typer.BadParameter("give both --url and --key (or --remove)")
    row = register_witness(engine, org_id, url, key)
    output(json_, row, lambda r: f"Registered the witness of {org_id}: {r['url']} ({r['key'].split('+')[0]}).")


@user_app.command("add")
def user_add(
    email: Annotated[str, typer.Argument(metavar="EMAIL")],
    org: Annotated[str, typer.Option(help="The user's organisation id.")],
    role: Annotated[str, typer.Option(help="coordinator, partner or auditor.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    password: Annotated[str | None, typer.Option(help="For the browser log-in (stored hashed).")] = None,
    lang: Annotated[str, typer.Option(help="Language of the user's mail: de, en, sr, mk or sq.")] = "en",
    json_: JsonOpt = False,
) -> None:
    """Add a user and print its API token (shown only this once)."""
    user, token = accounts.add_user(Runtime().engine, email=email, org_id=org, role=role, name=name,
                                    password=password, lang=lang)
    output(json_, {"email": user.email, "token": token},
           f"Added {user.email} ({role} of {org}).\nAPI token (shown only now): {token}")


@user_app.command("token")
def user_token(
    email: Annotated[str, typer.Argument(metavar="EMAIL")],
    rotate: Annotated[bool, typer.Option("--rotate", help="Replace the token; the old one stops working.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Issue a new API token for a user (tokens are stored hashed, so an old one cannot be shown)."""
    if not rotate:
        raise typer.BadParameter("tokens are stored only as hashes and cannot be shown again; "
                                 "pass --rotate to replace it with a new one", param_hint="--rotate")
    token = accounts.rotate_token(Runtime().engine, email)
    output(json_, {"email": email.strip().lower(), "token": token}, f"New API token for {email}: {token}")


@user_app.command("password")
def user_password(
    email: Annotated[str, typer.Argument(metavar="EMAIL")],
    password: Annotated[str | None, typer.Option(help="The new password (asked for when left out).")] = None,
    json_: JsonOpt = False,
) -> None:
    """Set a user's password (stored as an argon2 hash); every session of the user ends."""
    if password is None:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True, err=True)
    ended = Runtime().app_without_temporal().set_password(email, password)
    output(json_, {"email": email.strip().lower(), "sessions_ended": ended},
           f"Password of {email} changed; {ended} session(s) ended.")


@user_app.command("disable")
def user_disable(email: Annotated[str, typer.Argument(metavar="EMAIL")], json_: JsonOpt = False) -> None:
    """Stop a user: no log-in, its API token refused, no mail; every session of the user ends.
    `coopflow user enable` undoes it (password and token as they were)."""
    ended = Runtime().app_without_temporal().disable_user(email)
    output(json_, {"email": email.strip().lower(), "status": "disabled", "sessions_ended": ended},
           f"Disabled {email}; {ended} session(s) ended. `coopflow user enable {email}` undoes it.")


@user_app.command("enable")
def user_enable(email: Annotated[str, typer.Argument(metavar="EMAIL")], json_: JsonOpt = False) -> None:
    """Let a disabled or removed user act again (a removed one needs a new password and token)."""
    user = Runtime().app_without_temporal().enable_user(email)
    missing = [what for what, have in (("no password", user.password_hash), ("no API token", user.token_hash))
               if not have]
    hint = (f" It has {' and '.join(missing)}: give them with `coopflow user password {user.email}` and "
            f"`coopflow user token {user.email} --rotate`." if missing else "")
    output(json_, {"email": user.email, "status": user.status}, f"Enabled {user.email}.{hint}")


@user_app.command("remove")
def user_remove(email: Annotated[str, typer.Argument(metavar="EMAIL")], json_: JsonOpt = False) -> None:
    """Remove a user: as disable, and its password and API token are erased. The user's row stays, marked
    removed, because the audit trail's events name its id: exports still say who acted, and the e-mail
    cannot be added again (`coopflow user enable` brings the user back instead). The tasks the user held
    become nobody's (an event in each project's trail; their organisation is told by mail), and their
    substitutions end. Should Temporal be away, run it again: it frees what is left."""
    rt = Runtime()
    removed = rt.app_without_temporal().remove_person(email)

    async def free() -> int:  # only a user who held tasks needs Temporal
        return await (await rt.app()).free_tasks_of(removed["user_id"])

    done = {"sessions_ended": removed["sessions_ended"], "tasks_freed": run(free()) if removed["held"] else 0}
    output(json_, {"email": email.strip().lower(), "status": "removed", **done},
           f"Removed {email}; {done['sessions_ended']} session(s) ended, {done['tasks_freed']} task(s) it held "
           "freed. Its events in the audit trail still name it.")
