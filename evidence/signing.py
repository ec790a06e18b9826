"""The deployment's signing key, and signing a project's trail as a checkpoint."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import structlog
from sqlalchemy.engine import Engine

from domain import DomainError, InvalidRequest, format_time, verify_chain
from domain.merkle import consistency_proof, heads_at, trail_leaves, tree_head, verify_consistency
from evidence.notes import Checkpoint, NoteError, Signer, Verifier, open_checkpoint
from store import iter_events
from store.checkpoints import add_alarm, add_checkpoint, checkpoints
from store.trail_checks import keep_full_check

KEY_FILE = "signing.key"
log = structlog.get_logger("coopflow.evidence")


def key_name(deployment: str, public_url: str) -> str:
    """``coopflow/<deployment>``: the deployment's name, or else the host of its public URL."""
    name = deployment or urlsplit(public_url).netloc or "local"
    return "coopflow/" + "".join(c if c.isalnum() or c in "-._:/" else "-" for c in name)


class SigningKeyMissing(DomainError):
    code = "signing_key_missing"


def load_signer(*, signing_key: str, data_dir: Path, deployment: str = "", public_url: str = "",
                verifier_key: str = "") -> Signer:
    """``COOPFLOW_SIGNING_KEY`` when set; else the key in the data dir, generated there (0600) the first time.

    With a verifier key configured the signing key lives elsewhere: it is never generated here (a new key
    would sign what nobody can check), and a signing key that does not match it is refused."""
    path = data_dir / KEY_FILE
    if signing_key or path.exists():
        signer = Signer.parse(signing_key or path.read_text(encoding="utf-8"))
        if verifier_key and str(signer.verifier) != str(Verifier.parse(verifier_key)):
            raise InvalidRequest(f"COOPFLOW_VERIFIER_KEY is not the verifier key of the signing key "
                                 f"({signer.verifier.name}+{signer.verifier.id.hex()}): set both from one "
                                 "`coopflow audit new-key`.", {"verifier_key": "does not match"})
        return signer
    if verifier_key:
        raise SigningKeyMissing("This process has only the verifier key (COOPFLOW_VERIFIER_KEY): sign where "
                                "COOPFLOW_SIGNING_KEY is set (a worker, e.g. `docker compose exec worker coopflow "
                                "audit checkpoint`).", {"signing_key": "not set"})
    signer = Signer.generate(key_name(deployment, public_url))
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: theirs is the key
        return Signer.parse(path.read_text(encoding="utf-8"))
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(str(signer) + "\n")
    return signer


def origin(signer: Signer, project_id: str) -> str:
    return f"{signer.name}/{project_id}"


def trail_head(event_hashes: list[str]) -> bytes:
    """The RFC 6962 tree head over a trail's event hashes, in seq order."""
    return tree_head(trail_leaves(event_hashes))


class TrailBroken(DomainError):
    """The trail does not hold (its chain, or against a kept checkpoint): nothing is signed."""

    code = "trail_broken"


Signed = list[tuple[Mapping[str, Any], Checkpoint]]  # kept checkpoints, each with what its note signs


def signed_by(kept: Sequence[Mapping[str, Any]], verifier: Verifier) -> tuple[Signed, list[dict[str, Any]]]:
    """The kept checkpoints whose note this deployment's key signed (with what they sign), and those it cannot
    check: signed by another key (a process configured with another verifier key, or a row someone added),
    said as not checked rather than as a problem of the trail."""
    checked: Signed = []
    unchecked: list[dict[str, Any]] = []
    for c in kept:
        try:
            checked.append((c, open_checkpoint(c["note"], verifier)))
        except NoteError as error:
            unchecked.append({"size": c["tree_size"], "created_at": c["created_at"], "reason": error.message})
    return checked, unchecked


def kept_checkpoint_problems(events: Sequence[Mapping[str, Any]], kept: Signed) -> list[dict[str, Any]]:
    """Kept checkpoints (with what their notes sign, ``signed_by``) against the trail as it is now: the trail's
    tree head at each one's size. A changed event is placed between the last checkpoint that still holds and
    the first that does not."""
    leaves = trail_leaves([str(e["hash"]) for e in events])
    heads = heads_at(leaves, [c["tree_size"] for c, _ in kept])
    problems: list[dict[str, Any]] = []
    holds = 0
    for c, signed in kept:
        size, when = c["tree_size"], c["created_at"]
        if (signed.size, signed.root.hex()) != (size, c["root_hash"]):
            problems.append({"seq": None, "reason": f"the checkpoint of {size} events kept on {when} is not the "
                                                    "note it keeps (its size or head was changed)"})
        elif size > len(leaves):
            problems.append({"seq": len(leaves) + 1, "reason": f"missing: the checkpoint of {when} signed {size} "
                                                               f"events, the trail has {len(leaves)}"})
        elif heads[size] != signed.root:
            problems.append({"seq": size, "reason": f"changed: the first {size} events are not those the checkpoint "
                                                    f"of {when} signed (an event in seq {holds + 1}–{size})"})
        else:
            holds = size
    return problems


def checkpoint_trail(engine: Engine, signer: Signer, project_id: str) -> dict[str, Any]:
    """Sign the project's trail as it is in the store and keep the note; a trail that has not grown
    since its last checkpoint keeps that one. Returns ``{project, size, root, note, new}``.

    The signer checks before it signs, so that write access to the database cannot make it sign a rewritten
    history: the chain must hold, and the trail must extend the last kept checkpoint (an RFC 6962 consistency
    proof from its size, checked against its signed head). Otherwise it signs nothing, records an alarm
    (``trail_alarm``) and raises ``TrailBroken``."""
    events = list(iter_events(engine, project_id))
    leaves = trail_leaves([e["hash"] for e in events])
    signed, _ = signed_by(checkpoints(engine, project_id), signer.verifier)  # what this key signed, no other's
    last = signed[-1][0] if signed else None
    head = tree_head(leaves)
    problems = verify_chain(events)["problems"] + kept_checkpoint_problems(events, signed[-1:])
    if last is not None and not problems and not verify_consistency(
            last["tree_size"], len(leaves), bytes.fromhex(last["root_hash"]), head,
            consistency_proof(leaves, last["tree_size"])):
        problems.append({"seq": last["tree_size"], "reason": "the trail does not extend its last checkpoint"})
    if problems:
        first = problems[0]
        reason = (f"Nothing was signed: the trail of {len(events)} events does not hold"
                  + (f" at seq {first['seq']}" if first["seq"] is not None else "") + f" ({first['reason']}).")
        add_alarm(engine, project_id=project_id, found_at=format_time(datetime.now(UTC)), size=len(events),
                  reason=reason)
        keep_full_check(engine, project_id, events, False, None)  # no kept check: every look is a full one
        log.error("a trail does not hold; nothing was signed", project_id=project_id, seq=first["seq"])
        raise TrailBroken(f"Project {project_id}: {reason}", {"problems": problems[:20]})
    keep_full_check(engine, project_id, events, True, len(leaves))  # a full check: kept (docs/verification.md)
    if last is not None and last["tree_size"] == len(leaves):
        return {"project": project_id, "size": last["tree_size"], "root": last["root_hash"], "note": last["note"],
                "new": False}
    note = signer.sign(Checkpoint(origin(signer, project_id), len(leaves), head).text())
    new = add_checkpoint(engine, project_id=project_id, tree_size=len(leaves), root_hash=head.hex(), note=note,
                         created_at=format_time(datetime.now(UTC)))
    return {"project": project_id, "size": len(leaves), "root": head.hex(), "note": note, "new": new}
