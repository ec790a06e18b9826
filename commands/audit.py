"""`coopflow audit …`: the trail of a project, its verification and its export."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from commands.common import JsonOpt, Runtime, output, run
from domain import InvalidRequest, verify_chain

if TYPE_CHECKING:
    from evidence.notes import Verifier

audit_app = typer.Typer(help="Read, verify and export the audit trail.", no_args_is_help=True)
ProjectArg = Annotated[str, typer.Argument(metavar="PROJECT")]
OptionalProject = Annotated[str | None, typer.Argument(metavar="[PROJECT]")]
AsOptional = Annotated[str | None, typer.Option("--as", help="Act as this user (default: operator).")]
WitnessKeys = Annotated[list[str] | None, typer.Option(
    "--witness-key", help="A witness's verifier key (or a file holding it) whose cosignature the checkpoint must "
                          "carry; repeat for each witness.")]
Quorum = Annotated[int | None, typer.Option(
    "--quorum", help="How many of the --witness-key witnesses must have cosigned (default: all).")]


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
) -> None:
    """A project's events in order, from the audit store, optionally filtered."""
    rt = Runtime()
    app = rt.app_without_temporal()
    found = list(app.list_events(rt.actor(as_), project_id, by_email=actor, org=org, type=type_,
                                 since=since, until=until))
    emails = app.user_emails()
    output(json_, found, lambda es: "\n".join(event_line(e, emails) for e in es) or "No events match.")


def _verdict(r: dict[str, Any]) -> str:
    unseen = _not_compared(r["history"]) if "history" in r else []
    unseen += [f"checkpoint of {c['size']} events kept on {c['created_at']}: not checked ({c['reason']})"
               for c in r.get("checkpoints_not_checked", [])]
    if not r["ok"]:
        return "\n".join([f"BROKEN: {len(r['problems'])} problem(s) in {r['count']} events"]
                         + [f"  seq {p['seq']}: {p['reason']}" for p in r["problems"]] + unseen)
    text = f"OK: {r['count']} events, the chain is unbroken. Head {r['head']}"
    if "documents" in r:
        text += f"\n{r['documents']} documents present and unchanged."
    for c in ([r["checkpoint"]] if "checkpoint" in r else []) + r.get("checkpoints", []):
        text += f"\nCheckpoint {c['origin']} at {c['size']} events: signature and tree head hold."
    if "witnesses" in r:
        w = r["witnesses"]
        text += "".join(f"\nCosigned by the witness {c['witness']} at {_epoch(c['time'])}." for c in w["cosigned"])
        text += "".join(f"\nNot counted: {reason}." for reason in w["not_cosigned"])
        text += f"\n{len(w['cosigned'])} of {w['of']} witnesses cosigned (quorum {w['quorum']})."
    if "history" in r:
        h = r["history"]
        text += ("\n" + h["reason"]) if not h["available"] else (
            f"\nTemporal agrees: {h['held']} events recorded in its history, {h['updates']} completions.")
    return "\n".join([text, *unseen])


def _epoch(seconds: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _not_compared(history: dict[str, Any]) -> list[str]:
    """The seqs the history check could not compare, one line a range, and why: it names them rather than
    call them a disagreement (a run deleted by retention, or one that wrote before v1.2)."""
    return [f"seq {r['from']}{'' if r['from'] == r['to'] else '–' + str(r['to'])}: {r['reason']}; not compared"
            for r in history.get("not_compared", [])]


@audit_app.command("verify")
def verify(
    project_id: OptionalProject = None,
    all_: Annotated[bool, typer.Option("--all", help="Verify every project (a summary, with progress).")] = False,
    file: Annotated[Path | None, typer.Option(
        "--file", help="Verify a JSONL export or a bundle (.zip, with its documents) offline: no database.")] = None,
    checkpoint: Annotated[Path | None, typer.Option(
        "--checkpoint", help="A signed checkpoint (note file) the trail must match; needs --key.")] = None,
    key: Annotated[str | None, typer.Option(
        "--key", help="The verifier key (`coopflow audit public-key`), or a file holding it.")] = None,
    against_history: Annotated[bool, typer.Option(
        "--against-history", help="Also compare with the workflow's events and the updates in its history.")] = False,
    witness_key: WitnessKeys = None,
    quorum: Quorum = None,
    as_: AsOptional = None,
    json_: JsonOpt = False,
) -> None:
    """Recompute the hash chain; exit code 1 when it is broken, or when fewer than --quorum of the
    --witness-key witnesses cosigned the checkpoint (--checkpoint, else the latest kept or in the bundle)."""
    if [project_id is not None, all_, file is not None].count(True) != 1:
        raise typer.BadParameter("give exactly one of PROJECT, --all or --file")
    if checkpoint is not None and key is None:
        raise typer.BadParameter("a checkpoint is checked with the verifier key: add --key", param_hint="--key")
    if (witness_key or quorum is not None) and (all_ or against_history or not witness_key):
        raise typer.BadParameter("--witness-key (and --quorum) check one project's or file's checkpoint: give "
                                 "PROJECT or --file, and at least one --witness-key", param_hint="--witness-key")
    note = read_text_file(checkpoint, "checkpoint") if checkpoint is not None else None
    verifier = _verifier(key) if key is not None else None
    keys = [_key_text(k) for k in witness_key or []]
    if file is not None:
        result = _verify_file(file, note, verifier)
        if keys:
            _add_witnesses(result, file, note, keys, quorum)
    elif keys:
        rt = Runtime()
        result = rt.app_without_temporal().verify_witnessed(rt.actor(as_), project_id or "", keys, quorum, note,
                                                            str(verifier) if verifier else None)
    elif note is not None and verifier is not None:
        rt = Runtime()
        result = rt.app_without_temporal().verify_with_checkpoint(rt.actor(as_), project_id or "", note, str(verifier))
    elif all_:
        result = _verify_all(Runtime(), as_, against_history)
    elif against_history:
        async def go() -> dict[str, Any]:
            rt = Runtime()
            return await (await rt.app()).verify_against_history(rt.actor(as_), project_id or "")
        result = run(go())
    else:
        rt = Runtime()
        result = rt.app_without_temporal().verify(rt.actor(as_), project_id or "")
    output(json_, result, _summary if all_ else _verdict)
    if not result["ok"]:
        raise typer.Exit(1)


def read_text_file(path: Path, what: str) -> str:
    if not path.is_file():
        raise InvalidRequest(f"There is no {what} file {path}.")
    return path.read_text(encoding="utf-8")


def _key_text(key: str) -> str:
    """A key given as itself, or as a file holding it."""
    path = Path(key)
    return path.read_text(encoding="utf-8").strip() if "+" not in key and path.is_file() else key


def _verifier(key: str) -> Verifier:
    from evidence.notes import Verifier

    return Verifier.parse(_key_text(key))


def _add_witnesses(result: dict[str, Any], file: Path, note: str | None, keys: list[str], quorum: int | None) -> None:
    """The witnesses' check of ``note``, or of the largest checkpoint in the bundle ``file``."""
    import zipfile

    from evidence.proofs import latest_bundle_note
    from evidence.witnessed import check_witnesses

    if note is None:
        note = latest_bundle_note(file) if zipfile.is_zipfile(file) else None
        if note is None:
            raise InvalidRequest(f"{file} carries no checkpoint: give the cosigned one with --checkpoint.")
    result["witnesses"] = check_witnesses(note, keys, quorum)
    result["problems"] += result["witnesses"]["problems"]
    result["ok"] = not result["problems"]


def _verify_file(file: Path, note: str | None, verifier: Verifier | None) -> dict[str, Any]:
    import zipfile

    from evidence.proofs import check_checkpoint, read_export, verify_bundle

    if not file.exists():
        raise InvalidRequest(f"There is no file {file}.")
    if zipfile.is_zipfile(file):
        return verify_bundle(file, verifier=verifier, note=note)
    events = list(read_export(file))
    result = verify_chain(events)
    if note is not None and verifier is not None:
        result["checkpoint"] = check_checkpoint(events, note, verifier)
        result["problems"] += result["checkpoint"]["problems"]
        result["ok"] = not result["problems"]
    return result


def _verify_all(rt: Runtime, as_: str | None, against_history: bool) -> dict[str, Any]:
    """Every project the actor may verify; with ``against_history`` each is compared with Temporal too."""
    actor = rt.actor(as_)

    async def go() -> list[dict[str, Any]]:
        app = await rt.app() if against_history else rt.app_without_temporal()
        found = []
        with typer.progressbar(app.verifiable_projects(actor), label="Verifying", file=sys.stderr,
                               show_pos=True) as bar:
            for project in bar:
                r = (await app.verify_against_history(actor, project["id"]) if against_history
                     else app.verify(actor, project["id"]))
                found.append({"project": project["id"], "title": project["title"], **r})
        return found

    results = run(go())
    broken = [r for r in results if not r["ok"]]
    partly = [{k: r[k] for k in ("project", "title")} | {"not_compared": r["history"]["not_compared"]}
              for r in results if r["ok"] and r.get("history", {}).get("not_compared")]
    return {"ok": not broken, "projects": len(results), "events": sum(r["count"] for r in results),
            "broken": broken, "partly_compared": partly}


def _summary(r: dict[str, Any]) -> str:
    lines = [f"{'OK' if r['ok'] else 'BROKEN'}: {r['projects']} projects, {r['events']} events, "
             f"{len(r['broken'])} broken."]
    for b in r["broken"]:
        lines += [f"  {b['project']} ({b['title']}):"] + [f"    seq {p['seq']}: {p['reason']}" for p in b["problems"]]
        lines += [f"    {line}" for line in _not_compared(b.get("history", {}))]
    for p in r["partly_compared"]:
        lines += [f"  {p['project']} ({p['title']}), agrees where Temporal could be read:"]
        lines += [f"    {line}" for line in _not_compared(p)]
    return "\n".join(lines)


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
    if output_file is None:
        write_jsonl(trail, sys.stdout) if format_ == "jsonl" else write_csv(trail, sys.stdout, app.user_emails())
        return
    partial = output_file.with_name(output_file.name + ".partial")  # no half-written export on failure
    with partial.open("w", encoding="utf-8", newline="") as out:
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


@audit_app.command("verify-proof")
def verify_proof(
    proof_file: Annotated[Path, typer.Argument(metavar="PROOF", help="A proof from `coopflow audit prove`.")],
    key: Annotated[str, typer.Option("--key", help="The verifier key, or a file holding it.")],
    witness_key: WitnessKeys = None,
    quorum: Quorum = None,
    json_: JsonOpt = False,
) -> None:
    """Check an event's inclusion proof offline (exit 1 when it does not hold, or when fewer than --quorum of
    the --witness-key witnesses cosigned its checkpoint)."""
    import json

    from evidence.proofs import verify_proof as check

    try:
        proof = json.loads(read_text_file(proof_file, "proof"))
    except json.JSONDecodeError as exc:
        raise InvalidRequest(f"{proof_file} is not JSON ({exc.msg}).") from None
    if not isinstance(proof, dict):
        raise InvalidRequest(f"{proof_file} is not a coopflow proof.")
    result = check(proof, _verifier(key))
    if witness_key:
        from evidence.witnessed import check_witnesses

        result["witnesses"] = check_witnesses(str(proof.get("checkpoint", "")), [_key_text(k) for k in witness_key],
                                              quorum)
        result["problems"] += [p["reason"] for p in result["witnesses"]["problems"]]
        result["ok"] = not result["problems"]
    output(json_, result, lambda r: (
        f"OK: event {r['seq']} ({r['type']}) is in {r['origin']} at size {r['tree_size']}; the signature holds."
        if r["ok"] else "\n".join([f"BROKEN: event {r['seq']}:"] + [f"  {p}" for p in r["problems"]])))
    if not result["ok"]:
        raise typer.Exit(1)
