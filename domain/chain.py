"""Verification of a project's hash chain, from plain event records (store rows or an export)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from domain.model import ZERO_HASH, chain_hash


def verify_chain(events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Recompute the chain; return ``{ok, count, head, problems: [{seq, reason}]}``.

    Each event is checked three ways: its ``seq`` follows the previous one, its ``prev_hash``
    is the previous event's ``hash``, and its ``hash`` matches its contents.
    """
    problems: list[dict[str, Any]] = []
    expected_seq, prev_hash, count, head = 1, ZERO_HASH, 0, ZERO_HASH
    for record in events:
        count += 1
        body = {k: v for k, v in record.items() if k != "hash"}
        seq = record.get("seq")
        if seq != expected_seq:
            reason = (f"expected seq {expected_seq}, found {seq}: "
                      + ("events are missing before it" if isinstance(seq, int) and seq > expected_seq
                         else "an event is out of order or inserted"))
            problems.append({"seq": seq, "reason": reason})
        if record.get("prev_hash") != prev_hash:
            problems.append({"seq": seq, "reason": "prev_hash does not match the hash of the event before it"})
        if chain_hash(str(record.get("prev_hash")), body) != record.get("hash"):
            problems.append({"seq": seq, "reason": "hash does not match the event's contents (it was changed)"})
        prev_hash = str(record.get("hash"))
        head = prev_hash
        expected_seq = (seq if isinstance(seq, int) else expected_seq) + 1
    return {"ok": not problems, "count": count, "head": head, "problems": problems}
