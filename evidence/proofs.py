"""The checks an auditor runs, online or with nothing but files: a trail against the project's recorded end
(``verify_anchored``), against a signed checkpoint, one event's inclusion proof, a bundle's documents, and
the reading of a JSONL export."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from domain import InvalidRequest, chain_hash, verify_chain
from domain.documents import DOCUMENT_KEYS, SHA256
from domain.merkle import leaf_hash, root_from_inclusion
from domain.tally import template_digest
from evidence.notes import Checkpoint, Verifier, open_checkpoint
from evidence.signing import trail_head

BUNDLE_EVENTS = "events.jsonl"
BUNDLE_PROJECT = "project.json"
BUNDLE_DOCUMENTS = "documents.json"  # each document file's names, as the events give them
BUNDLE_TEMPLATE = "template.json"  # the template a first event names by digest (``template_ref``)


def check_checkpoint(events: Sequence[Mapping[str, Any]], note: str, verifier: Verifier,
                     project_id: str | None = None) -> dict[str, Any]:
    """Whether the signed checkpoint holds for this trail: its signature, its origin (the project),
    and the RFC 6962 head over the trail's first ``size`` events. Raises ``NoteError`` for a bad note."""
    checkpoint = open_checkpoint(note, verifier)
    return checkpoint_against(checkpoint, project_id, len(events),
                              lambda: trail_head([str(e.get("hash")) for e in events[:checkpoint.size]]))


def checkpoint_against(checkpoint: Checkpoint, project_id: str | None, trail_size: int,
                       head_at_size: Callable[[], bytes]) -> dict[str, Any]:
    """A checkpoint whose signature held, against a trail of ``trail_size`` events whose tree head at the
    checkpoint's size ``head_at_size()`` gives (from the events, or from a kept frontier)."""
    result: dict[str, Any] = {"origin": checkpoint.origin, "size": checkpoint.size,
                              "root": checkpoint.root.hex(), "problems": []}
    if project_id is not None and checkpoint.origin.rsplit("/", 1)[-1] != project_id:
        result["problems"].append({"seq": None, "reason": f"the checkpoint is for {checkpoint.origin}, "
                                   f"not for project {project_id}"})
    elif trail_size < checkpoint.size:
        result["problems"].append({"seq": trail_size + 1, "reason": f"missing: the checkpoint signed "
                                   f"{checkpoint.size} events, the trail has {trail_size}"})
    elif head_at_size() != checkpoint.root:
        result["problems"].append({"seq": checkpoint.size, "reason": f"rewritten: the tree head of the first "
                                   f"{checkpoint.size} events differs from the one the checkpoint signed (an event "
                                   f"in seq 1–{checkpoint.size} was changed)"})
    result["ok"] = not result["problems"]
    return result


def verify_proof(proof: Mapping[str, Any], verifier: Verifier) -> dict[str, Any]:
    """Check one event's inclusion proof offline: the checkpoint's signature, the event's own hash,
    and the RFC 6962 audit path from it to the signed head."""
    try:
        event, note, path = proof["event"], proof["checkpoint"], proof["inclusion_proof"]
        checkpoint = open_checkpoint(note, verifier)
        index, size = int(proof["leaf_index"]), int(proof["tree_size"])
        hashes = [base64.b64decode(p, validate=True) for p in path]
        body = {k: v for k, v in event.items() if k != "hash"}
        own = chain_hash(str(event["prev_hash"]), body)
        leaf = bytes.fromhex(str(event["hash"]))
    except (KeyError, TypeError, ValueError, binascii.Error, AttributeError):
        raise InvalidRequest("This is not a coopflow proof (event, checkpoint, leaf_index, tree_size, "
                             "inclusion_proof).") from None
    problems = []
    if own != event["hash"]:
        problems.append("the event's contents do not match its hash")
    if index != event.get("seq", 0) - 1 or size != checkpoint.size:
        problems.append("the proof's position or size does not match the event and the checkpoint")
    if root_from_inclusion(leaf_hash(leaf), index, size, hashes) != checkpoint.root:
        problems.append("the inclusion proof does not lead to the checkpoint's tree head")
    return {"ok": not problems, "seq": event.get("seq"), "type": event.get("type"), "origin": checkpoint.origin,
            "tree_size": checkpoint.size, "problems": problems}


def referenced_documents(events: Iterable[Mapping[str, Any]]) -> list[tuple[int, str, dict[str, Any]]]:
    """Every document an event's data names, wherever in it: (seq, field, {sha256, name, size, media_type})."""
    found: list[tuple[int, str, dict[str, Any]]] = []

    def walk(seq: int, field: str, value: Any) -> None:
        if isinstance(value, dict):
            if set(value) == set(DOCUMENT_KEYS) and SHA256.fullmatch(str(value["sha256"])):
                found.append((seq, field, value))
                return
            for key, inner in value.items():
                walk(seq, str(key), inner)
        elif isinstance(value, list):
            for inner in value:
                walk(seq, field, inner)

    for e in events:
        walk(e.get("seq", 0), "data", e.get("data"))
    return found


def document_manifest(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A bundle's ``documents.json``: each name the events give a document file, with its media type, size
    and the events that name it. The files stay ``documents/<sha256>``, checked by their content alone; the
    names come from the events as the bundle carries them, so a sealed name stays sealed and a document
    of a field left out for the reader is not listed."""
    entries: dict[tuple[str, str], dict[str, Any]] = {}
    for seq, _, doc in referenced_documents(events):
        entry = entries.setdefault((doc["sha256"], str(doc["name"])), {
            "file": f"documents/{doc['sha256']}", **{k: doc[k] for k in DOCUMENT_KEYS}, "events": []})
        if seq not in entry["events"]:
            entry["events"].append(seq)
    return [entries[k] for k in sorted(entries)]


def _check_manifest(listed: Any, events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The problems of a bundle's ``documents.json``: an entry must be one its events make (a name given to
    that sha256 by an event), so a renamed or invented file name is caught offline like a changed file."""
    made = {(e["sha256"], e["name"]): e for e in document_manifest(events)}
    problems = []
    for entry in listed if isinstance(listed, list) else [listed]:
        key = (entry.get("sha256"), entry.get("name")) if isinstance(entry, dict) else None
        if key not in made or made[key] != entry:
            shown = f"{entry.get('name')} ({entry.get('file')})" if isinstance(entry, dict) else str(entry)[:80]
            problems.append({"seq": None, "reason": f"{BUNDLE_DOCUMENTS} lists {shown}, which no event names so"})
    return problems


def _check_template(bundle: zipfile.ZipFile, names: set[str], events: Sequence[Mapping[str, Any]]
                    ) -> list[dict[str, Any]]:
    """The template a trail's first event names by digest: in the bundle, and hashing to that digest."""
    ref = (events[0].get("data") or {}).get("template_ref") if events else None
    if not isinstance(ref, dict):
        return []
    named = f"the template this project started with ({ref.get('id')} version {ref.get('version')})"
    if BUNDLE_TEMPLATE not in names:
        return [{"seq": 1, "reason": f"template missing: {named} is not in the bundle ({BUNDLE_TEMPLATE})"}]
    if template_digest(json.loads(bundle.read(BUNDLE_TEMPLATE))) != ref.get("digest"):
        return [{"seq": 1, "reason": f"template changed: {BUNDLE_TEMPLATE} does not hash to {ref.get('digest')}"}]
    return []


def verify_bundle(path: Any, *, verifier: Verifier | None = None, note: str | None = None) -> dict[str, Any]:
    """The chain of a bundle's events, every document they name (present, unchanged), and with a
    verifier key the bundle's checkpoints (and ``note``) against its events."""
    try:
        with zipfile.ZipFile(path) as bundle:
            names = set(bundle.namelist())
            if BUNDLE_EVENTS not in names:
                raise InvalidRequest(f"{path} is not a coopflow bundle: it has no {BUNDLE_EVENTS}.")
            events = _events(bundle.read(BUNDLE_EVENTS).decode("utf-8"))
            project = json.loads(bundle.read(BUNDLE_PROJECT)) if BUNDLE_PROJECT in names else {}
            result = verify_chain(events)
            checked = set()
            for seq, field, doc in referenced_documents(events):
                member = f"documents/{doc['sha256']}"
                if member in checked:
                    continue
                checked.add(member)
                if member not in names:
                    result["problems"].append({"seq": seq, "reason": f"document missing: {doc['name']} ({field}, "
                                               f"sha256 {doc['sha256']}) is not in the bundle"})
                elif hashlib.sha256(bundle.read(member)).hexdigest() != doc["sha256"]:
                    result["problems"].append({"seq": seq, "reason": f"document changed: {doc['name']} ({field}) "
                                               f"does not match its sha256 {doc['sha256']}"})
            if BUNDLE_DOCUMENTS in names:
                result["problems"] += _check_manifest(json.loads(bundle.read(BUNDLE_DOCUMENTS)), events)
            result["problems"] += _check_template(bundle, names, events)
            notes = [bundle.read(n).decode("utf-8") for n in sorted(names) if n.startswith("checkpoints/")]
    except (zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRequest(f"{path} is not a readable coopflow bundle ({exc}).") from None
    result["documents"] = len(checked)
    if verifier is not None:
        result["checkpoints"] = []
        for text in [*notes, *([note] if note and note not in notes else [])]:
            checked_note = check_checkpoint(events, text, verifier, project.get("id"))
            result["checkpoints"].append(checked_note)
            result["problems"] += checked_note["problems"]
    result["ok"] = not result["problems"]
    return result


def latest_bundle_note(path: Any) -> str | None:
    """The largest checkpoint a bundle carries (with its cosignatures), or None when it carries none."""
    with zipfile.ZipFile(path) as bundle:
        notes = sorted((i for i in bundle.infolist() if i.filename.startswith("checkpoints/")),
                       key=lambda i: i.filename)  # zero-padded sizes
        if not notes:
            return None
        if notes[-1].file_size > 64 * 1024:
            raise InvalidRequest(f"{notes[-1].filename} in {path} is larger than a checkpoint note can be.")
        with bundle.open(notes[-1]) as member:
            return member.read(64 * 1024 + 1).decode("utf-8")


def _events(text: str) -> list[dict[str, Any]]:
    events = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InvalidRequest(f"{BUNDLE_EVENTS}, line {number}: not a JSON event ({exc.msg}).") from None
    return events


__all__ = ["Checkpoint", "check_checkpoint", "referenced_documents", "verify_bundle", "verify_proof"]


def verify_anchored(events: Iterable[dict[str, Any]], project: dict[str, Any]) -> dict[str, Any]:
    """The chain check, plus its end against the seq and head the project recorded with each write.

    A chain alone cannot tell that its last events were removed, or that events were appended
    and hashed by someone who knows the algorithm; the project row written in the same
    transaction can.
    """
    records = list(events)
    result = verify_chain(records)
    last_seq = records[-1].get("seq", 0) if records else 0
    last_seq = last_seq if isinstance(last_seq, int) else 0
    if last_seq < project["seq"]:
        for seq in range(last_seq + 1, project["seq"] + 1):
            result["problems"].append({"seq": seq, "reason": "missing: the project recorded it, the trail lacks it"})
    elif last_seq > project["seq"]:
        for seq in range(project["seq"] + 1, last_seq + 1):
            result["problems"].append({"seq": seq, "reason": "inserted: after the last event the project recorded"})
    elif records and result["head"] != project["head"]:
        result["problems"].append({"seq": project["seq"], "reason": "changed: the last event is not the one "
                                   "the project recorded as its head"})
    result["ok"] = not result["problems"]
    return result


def read_export(path: Path) -> Iterator[dict[str, Any]]:
    """Events from a JSONL export, one per line; a broken line is reported with its number."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidRequest(f"{path}, line {number}: not a JSON event ({exc.msg}).") from None
            if not isinstance(event, dict):
                raise InvalidRequest(f"{path}, line {number}: not a JSON object.")
            yield event
