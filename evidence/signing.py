"""The deployment's signing key, and signing a project's trail as a checkpoint."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine

from domain import DomainError, InvalidRequest, format_time
from domain.merkle import trail_leaves, tree_head
from evidence.notes import Checkpoint, Signer, Verifier
from store import iter_events
from store.checkpoints import add_checkpoint, latest_checkpoint

KEY_FILE = "signing.key"


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


def checkpoint_trail(engine: Engine, signer: Signer, project_id: str) -> dict[str, Any]:
    """Sign the project's trail as it is in the store and keep the note; a trail that has not grown
    since its last checkpoint keeps that one. Returns ``{project, size, root, note, new}``."""
    hashes = [e["hash"] for e in iter_events(engine, project_id)]
    last = latest_checkpoint(engine, project_id)
    if last is not None and last["tree_size"] == len(hashes):
        return {"project": project_id, "size": last["tree_size"], "root": last["root_hash"], "note": last["note"],
                "new": False}
    head = trail_head(hashes)
    note = signer.sign(Checkpoint(origin(signer, project_id), len(hashes), head).text())
    new = add_checkpoint(engine, project_id=project_id, tree_size=len(hashes), root_hash=head.hex(), note=note,
                         created_at=format_time(datetime.now(UTC)))
    return {"project": project_id, "size": len(hashes), "root": head.hex(), "note": note, "new": new}
