"""`coopflow audit …`: the trail of a project, its verification and its export."""

from __future__ import annotations

import io
import itertools
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from commands import audit_verify
from commands.audit_verify import AsOptional, OptionalProject, ProjectArg, read_text_file
from commands.common import JsonOpt, LimitOpt, Runtime, output

audit_app = typer.Typer(help="Read, verify and export the audit trail.", no_args_is_help=True)


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
    limit: LimitOpt = None,
) -> None:
    """A project's events in order, from the audit store, optionally filtered (all of them, or the first
    ``--limit``)."""
    rt = Runtime()
    app = rt.app_without_temporal()
    found = list(itertools.islice(app.list_events(rt.actor(as_), project_id, by_email=actor, org=org, type=type_,
                                                  since=since, until=until), limit))
    emails = app.user_emails()
    output(json_, found, lambda es: "\n".join(event_line(e, emails) for e in es) or "No events match.")


audit_app.command("verify")(audit_verify.verify)


@audit_app.command("export")
def export(
    project_id: ProjectArg,
    format_: Annotated[str, typer.Option(
        "--format", help="jsonl (verifiable offline), csv, or bundle (a zip with the documents and checkpoints).")
    ] = "jsonl",
    output_file: Annotated[Path | None, typer.Option("--output", help="Write here instead of stdout.")] = None,
    as_: AsOptional = None,
) -> None:
    """Every event of a project with actor, role, organisation, task and data; streamed."""
    from services.exports import write_csv, write_jsonl

    if format_ not in ("jsonl", "csv", "bundle"):
        raise typer.BadParameter("use jsonl, csv or bundle", param_hint="--format")
    rt = Runtime()
    app = rt.app_without_temporal()
    if format_ == "bundle":
        if output_file is None:
            raise typer.BadParameter("a bundle is a zip file: give --output P.zip", param_hint="--output")
        partial = output_file.with_name(output_file.name + ".partial")
        with partial.open("wb") as out:
            counts = app.export_bundle(rt.actor(as_), project_id, out)
        partial.replace(output_file)
        print(f"Exported {counts['events']} events, {counts['documents']} documents and {counts['checkpoints']} "
              f"checkpoints of {project_id} to {output_file}.", file=sys.stderr)
        return
    trail = app.list_events(rt.actor(as_), project_id)
    # CSV with a byte-order mark, as the web's: Excel then reads it as UTF-8 (Cyrillic, ë, č), not as ANSI
    encoding = "utf-8-sig" if format_ == "csv" else "utf-8"
    if output_file is None:
        sys.stdout.flush()
        stream = io.TextIOWrapper(sys.stdout.buffer, encoding=encoding, newline="")
        write_jsonl(trail, stream) if format_ == "jsonl" else write_csv(trail, stream, app.user_emails())
        stream.flush()
        stream.detach()  # stdout stays open
        return
    partial = output_file.with_name(output_file.name + ".partial")  # no half-written export on failure
    with partial.open("w", encoding=encoding, newline="") as out:
        count = write_jsonl(trail, out) if format_ == "jsonl" else write_csv(trail, out, app.user_emails())
    partial.replace(output_file)
    print(f"Exported {count} events of {project_id} to {output_file}.", file=sys.stderr)


@audit_app.command("checkpoint")
def checkpoint(
    project_id: OptionalProject = None,
    all_: Annotated[bool, typer.Option("--all", help="Every project you may verify.")] = False,
    output_file: Annotated[Path | None, typer.Option(
        "--output", help="Also write the note to this file (one project).")] = None,
    as_: AsOptional = None,
    json_: JsonOpt = False,
) -> None:
    """Sign the trail now as a C2SP checkpoint (kept append-only) and print the signed note: the log's
    signature, then the witnesses' cosignatures kept of it so far."""
    if (project_id is None) == (not all_):
        raise typer.BadParameter("give PROJECT or --all")
    rt = Runtime()
    app = rt.app_without_temporal()
    actor = rt.actor(as_)
    found = app.checkpoint_all(actor) if all_ else [app.checkpoint(actor, project_id or "")]
    if output_file is not None and len(found) == 1:
        output_file.write_text(found[0]["note"], encoding="utf-8")
    output(json_, found if all_ else found[0], lambda _: "\n".join(c["note"] for c in found) or "No projects.")


@audit_app.command("public-key")
def public_key(json_: JsonOpt = False) -> None:
    """The verifier key of this deployment's checkpoints, to keep and give to auditors and funders."""
    rt = Runtime()
    settings = rt.settings
    if not (settings.signing_key or settings.verifier_key or (settings.data_dir / "signing.key").exists()
            or settings.database_url):
        rt.check_store_file()  # run away from the deployment, it would make a key nobody signs with
    key = settings.verifier()
    output(json_, {"key": str(key), "name": key.name, "key_id": key.id.hex()}, str(key))


@audit_app.command("new-key")
def new_key(
    name: Annotated[str, typer.Option("--name", help="The key's name, coopflow/<deployment>.")],
    json_: JsonOpt = False,
) -> None:
    """Print a new signing key for COOPFLOW_SIGNING_KEY (keep it secret) and its verifier key."""
    from evidence.notes import Signer

    signer = Signer.generate(name)
    output(json_, {"signing_key": str(signer), "key": str(signer.verifier)},
           f"COOPFLOW_SIGNING_KEY={signer}\nverifier key: {signer.verifier}")


@audit_app.command("prove")
def prove(
    project_id: ProjectArg,
    seq: Annotated[int, typer.Argument(metavar="SEQ", help="The event's seq.")],
    checkpoint: Annotated[Path | None, typer.Option(
        "--checkpoint", help="Prove against this signed checkpoint (default: the latest kept, or a new one).")] = None,
    as_: AsOptional = None,
) -> None:
    """Print one event with its RFC 6962 inclusion proof and the signed checkpoint (JSON), for
    `coopflow audit verify-proof`; the rest of the trail stays out of it."""
    rt = Runtime()
    note = read_text_file(checkpoint, "checkpoint") if checkpoint is not None else None
    proof = rt.app_without_temporal().prove(rt.actor(as_), project_id, seq, note)
    output(True, proof, "")


audit_app.command("verify-proof")(audit_verify.verify_proof)
