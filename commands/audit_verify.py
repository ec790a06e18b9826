"""`coopflow audit verify` and `audit verify-proof`: a trail checked against its chain, the project's recorded
end, every kept checkpoint, a checkpoint kept elsewhere, the witnesses' cosignatures, or Temporal's histories;
one event's inclusion proof, offline. Registered on ``audit_app`` by ``commands/audit.py``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from commands.common import JsonOpt, Runtime, output, run
from domain import InvalidRequest, verify_chain

if TYPE_CHECKING:
    from evidence.notes import Verifier

ProjectArg = Annotated[str, typer.Argument(metavar="PROJECT")]
OptionalProject = Annotated[str | None, typer.Argument(metavar="[PROJECT]")]
AsOptional = Annotated[str | None, typer.Option("--as", help="Act as this user (default: operator).")]
WitnessKeys = Annotated[list[str] | None, typer.Option(
    "--witness-key", help="A witness's verifier key (or a file holding it) whose cosignature the checkpoint must "
                          "carry; repeat for each witness.")]
Quorum = Annotated[int | None, typer.Option(
    "--quorum", help="How many of the --witness-key witnesses must have cosigned (default: all).")]


def _verdict(r: dict[str, Any]) -> str:
    unseen = _not_compared(r["history"]) if "history" in r else []
    unseen += [f"checkpoint of {c['size']} events kept on {c['created_at']}: not checked ({c['reason']})"
               for c in r.get("checkpoints_not_checked", [])]
    if not r["ok"]:
        return "\n".join([f"BROKEN: {len(r['problems'])} problem(s) in {r['count']} events"]
                         + [f"  {_problem(p)}" for p in r["problems"]] + unseen)
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


def _problem(p: dict[str, Any]) -> str:
    """A problem as a line: its seq when it has one (a missing cosignature belongs to no event)."""
    return f"seq {p['seq']}: {p['reason']}" if p.get("seq") is not None else str(p["reason"])


def _epoch(seconds: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _not_compared(history: dict[str, Any]) -> list[str]:
    """The seqs the history check could not compare, one line a range, and why: it names them rather than
    call them a disagreement (a run deleted by retention, or one that wrote before v1.2)."""
    return [f"seq {r['from']}{'' if r['from'] == r['to'] else '–' + str(r['to'])}: {r['reason']}; not compared"
            for r in history.get("not_compared", [])]


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
    if not against_history:  # streamed, over the machine's cores (services/verify_all.py)
        app = rt.app_without_temporal()
        with typer.progressbar(length=len(app.verifiable_projects(actor)), label="Verifying", file=sys.stderr,
                               show_pos=True) as bar:
            return app.verify_all(actor, progress=bar.update)

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
        lines += [f"  {b['project']} ({b['title']}):"] + [f"    {_problem(p)}" for p in b["problems"]]
        lines += [f"    {line}" for line in _not_compared(b.get("history", {}))]
    for p in r["partly_compared"]:
        lines += [f"  {p['project']} ({p['title']}), agrees where Temporal could be read:"]
        lines += [f"    {line}" for line in _not_compared(p)]
    return "\n".join(lines)


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
