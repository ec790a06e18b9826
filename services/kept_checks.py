"""Kept trail checks (docs/verification.md): what a full check leaves behind, and the quick check that goes on
from it, reading only the events written since, after checking that what was kept still describes the trail."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from domain import format_time
from domain.chain_stream import head_after, pack, resumed, stored_event_hash, unpack
from domain.merkle import frontier_head
from evidence.notes import NoteError, Verifier, open_checkpoint
from evidence.proofs import checkpoint_against
from store import incidents as store_incidents
from store.trail_checks import frontier_state, keep_checks, kept_check, row_at, stored_hashes, stored_rows


def _now() -> str:
    return format_time(datetime.now(UTC))


def _usable(kept: Mapping[str, Any]) -> tuple[list[bytes], list[bytes] | None] | None:
    """The kept frontiers, when the row is one a check could have written (else it is not used)."""
    size, cp = kept["size"], kept["checkpoint_size"]
    before = unpack(kept["frontier"])
    if size < 1 or before is None or len(before) != (size - 1).bit_count():
        return None
    if cp is None:
        return before, None
    cp_before = unpack(kept["checkpoint_frontier"] or "")
    if not 1 <= cp <= size or cp_before is None or len(cp_before) != (cp - 1).bit_count():
        return None
    return before, cp_before


def quick_check(engine: Engine, verifier: Verifier, project: Mapping[str, Any],
                last: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    """The chain and the latest checkpoint (``last``, a kept row, or None) checked from the kept check: the
    kept row still describes the trail (event ``size`` still has hash ``head``, and exactly ``size`` events
    lie at or below it), the events after it hold and extend it to the end the project recorded, no incident
    is open, and the latest checkpoint's head comes from the kept frontier and the events read now.

    Returns (chain result, checkpoint result), or None when there is no usable kept check or anything does not
    hold: the caller then runs the full check, which says what is wrong, where."""
    pid = project["id"]
    kept = kept_check(engine, pid)
    frontiers = _usable(kept) if kept is not None else None
    if kept is None or frontiers is None:
        return None
    before, cp_before = frontiers
    size, head = kept["size"], kept["head"]
    if row_at(engine, pid, size) != (head, size):
        return None
    signed, refused = None, None
    if last is not None:
        try:
            signed = open_checkpoint(last["note"], verifier)
        except NoteError as error:  # signed by a key this process does not have
            refused = error.message
    wanted = signed.size if signed is not None and signed.size > size else None
    stream = resumed(size, head, before, kept_at=wanted, marks={wanted} if wanted else set())
    for row in stored_rows(engine, pid, after=size):
        if not stream.add(row[0], row[10], row[11], stored_event_hash(*row[:12])):
            return None
    if (stream.size, stream.head) != (project["seq"], project["head"]) or store_incidents(engine, pid):
        return None
    checkpoint, cp_kept = None, (kept["checkpoint_size"], cp_before)
    if last is not None and signed is None:
        checkpoint = {"ok": False, "size": last["tree_size"], "problems": [{"seq": None, "reason": refused}]}
    elif signed is not None:
        m = signed.size
        if m > stream.size:
            head_at: bytes | None = None
        elif m == 0:
            head_at = frontier_head([])
        elif m == stream.size:
            head_at, cp_kept = frontier_head(stream.frontier), (m, stream.before_last)
        elif m > size:
            head_at, cp_kept = stream.heads[m], (m, stream.before_kept)
        elif m == size:
            head_at, cp_kept = head_after(before, size, head), (m, before)
        elif m == kept["checkpoint_size"] and cp_before is not None:
            at_m = row_at(engine, pid, m)[0]
            head_at = head_after(cp_before, m, at_m) if at_m else None
        else:  # a checkpoint the kept check was not made against: its head from the hashes once, then kept
            hashes = stored_hashes(engine, pid, m)
            head_at = head_after(frontier_state(hashes, m), m, hashes[-1]) if len(hashes) == m else None
            cp_kept = (m, frontier_state(hashes, m)) if head_at is not None else cp_kept
        checkpoint = checkpoint_against(signed, pid, stream.size, lambda: head_at or b"")
    if stream.size > size or cp_kept[0] != kept["checkpoint_size"]:
        cp_size, cp_front = cp_kept
        keep_checks(engine, [{**kept, "size": stream.size, "head": stream.head, "frontier": pack(stream.before_last),
                              "checkpoint_size": cp_size,
                              "checkpoint_frontier": pack(cp_front) if cp_front is not None else None,
                              "checked_at": _now()}])
    chain = {"ok": True, "count": stream.size, "head": stream.head, "problems": [],
             "kept": {"full_size": kept["full_size"], "full_at": kept["full_at"]}}
    return chain, checkpoint
