"""Verification of a project's hash chain, from plain event records (store rows or an export)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from domain.model import ZERO_HASH, chain_hash


def verify_chain(events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Recompute the chain; return ``{ok, count, head, problems: [{seq, reason}]}``.

    Every event is checked three ways — its ``hash`` matches its contents, its ``seq``
    follows the one before, its ``prev_hash`` is the hash of the one before — and a broken
    link is explained where the trail allows it: deleted, inserted, reordered, changed.
    """
    records = list(events)
    problems: list[dict[str, Any]] = []
    position = {r.get("hash"): i for i, r in enumerate(records)}

    def add(seq: Any, reason: str) -> None:
        if {"seq": seq, "reason": reason} not in problems:
            problems.append({"seq": seq, "reason": reason})

    expected = 1
    for i, record in enumerate(records):
        seq = record.get("seq")
        body = {k: v for k, v in record.items() if k != "hash"}
        changed = chain_hash(str(record.get("prev_hash")), body) != record.get("hash")
        if changed:
            add(seq, "changed: its contents do not match its hash")
        gap = isinstance(seq, int) and seq > expected
        for missing in range(expected, seq if isinstance(seq, int) and gap else expected):
            add(missing, "missing: the event was deleted from the trail")
        if not gap and seq != expected:
            add(seq, f"out of order: seq {expected} was expected here")
        before = records[i - 1]["hash"] if i else ZERO_HASH
        if record.get("prev_hash") != before and not gap:
            _explain_link(records, position, i, changed, add)
        expected = (seq if isinstance(seq, int) else expected) + 1
    problems.sort(key=lambda p: (p["seq"] if isinstance(p["seq"], int) else 0))
    head = str(records[-1].get("hash")) if records else ZERO_HASH
    return {"ok": not problems, "count": len(records), "head": head, "problems": problems}


def _explain_link(records: list[Mapping[str, Any]], position: dict[Any, int], i: int, changed: bool,
                  add: Any) -> None:
    record, previous = records[i], records[i - 1] if i else None
    target = -1 if record.get("prev_hash") == ZERO_HASH else position.get(record.get("prev_hash"))
    if target is None:
        if changed or previous is None:
            add(record.get("seq"), "changed: its prev_hash is not the hash of any event")
        else:
            add(previous.get("seq"), "changed and re-hashed: the next event's prev_hash no longer matches it")
    elif target > i - 1:
        add(record.get("seq"), f"out of order: it follows the event now at seq {records[target].get('seq')}")
    elif target == i - 2 and previous is not None:
        back = -1 if previous.get("prev_hash") == ZERO_HASH else position.get(previous.get("prev_hash"))
        if back is None or back == i - 2:  # it links where it was slipped in (else: reordered)
            add(previous.get("seq"), "inserted: the event after it links past it")
    else:
        add(record.get("seq"), "out of order: events between it and its predecessor were inserted or moved")
