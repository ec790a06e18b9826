"""`coopflow personal-data …`: erasing a case's personal data, the person's copy, and the keys that seal it."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from commands.common import AsOpt, JsonOpt, Runtime, output, run

personal_app = typer.Typer(help="Personal data: erasure, the person's copy, the key-encryption keys.",
                           no_args_is_help=True)


@personal_app.command("erase")
def erase(
    project_id: Annotated[str, typer.Argument(metavar="PROJECT")],
    as_: AsOpt,
    reason: Annotated[str, typer.Option(help="Why (a withdrawn consent, a request): it goes into the audit trail.")],
    json_: JsonOpt = False,
) -> None:
    """Erase a project's personal data for good, as a coordinator of its lead organisation: its data keys are
    destroyed and the erasure recorded; a running case is cancelled first. Run again: the first erasure."""
    async def go() -> dict[str, Any]:
        rt = Runtime()
        actor = rt.actor(as_)
        return await (await rt.app()).erase_personal_data(actor, project_id, reason=reason)

    output(json_, run(go()), lambda e: f"Erased the personal data of project {project_id} at {e['erased_at']}: "
                                       f"{e['values']} value(s), {e['documents']} document(s).")


@personal_app.command("export")
def export(
    project_id: Annotated[str, typer.Argument(metavar="PROJECT")],
    as_: AsOpt,
) -> None:
    """Print, as JSON, everything the project holds about its data subjects and who was shown it when
    (GDPR Art. 15 and 5(2); a coordinator of the lead organisation). The reading is recorded."""
    rt = Runtime()
    output(True, rt.app_without_temporal().personal_data(rt.actor(as_), project_id, "export"), "")


@personal_app.command("new-key")
def new_key(
    key_id: Annotated[str, typer.Option("--id", help="The new key's id (not one in use).")] = "kek2",
) -> None:
    """Print a new key-encryption key in the form COOPFLOW_PERSONAL_DATA_KEYS takes: put it first, keep the old
    ones after it, run `coopflow personal-data rewrap`, then drop the old ones."""
    from services.codec import new_key as make

    output(False, None, make(key_id))


@personal_app.command("rewrap")
def rewrap(json_: JsonOpt = False) -> None:
    """Wrap every data key again with the current key-encryption key (the first one): after it, keys listed
    after the first are no longer needed. Safe to run again, and while coopflow runs. Exit 1 when some data
    keys are wrapped by a key-encryption key this process does not have (they are listed)."""
    found = Runtime().app_without_temporal().rewrap_data_keys()

    def said(r: dict[str, Any]) -> str:
        text = f"Rewrapped {r['rewrapped']} data key(s) with {r['kek']}; {r['current']} already were."
        if r["unopened"]:
            missing = sorted({u["kek_id"] for u in r["unopened"]})
            projects = sorted({u["project_id"] for u in r["unopened"]})
            more = " …" if len(projects) > 10 else ""
            text += (f"\n{len(r['unopened'])} data key(s) are wrapped by key-encryption keys this process does not "
                     f"have ({', '.join(missing)}; projects {', '.join(projects[:10])}{more}): list them after the "
                     "current one and run rewrap again; keep them until then.")
        return text

    output(json_, found, said)
    if found["unopened"]:
        raise typer.Exit(1)
