"""Exports of a trail as an auditor takes them away: JSONL (exactly as hashed, one event per line) and CSV
(for a spreadsheet, with the actors' e-mails beside their ids)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import IO, Any

CSV_COLUMNS = ["seq", "type", "at", "actor_user", "actor_email", "actor_org", "actor_role", "phase", "step",
               "task_id", "data", "prev_hash", "hash"]


def write_jsonl(events: Iterable[dict[str, Any]], out: IO[str]) -> int:
    count = 0
    for event in events:
        out.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")
        count += 1
    return count


def write_csv(events: Iterable[dict[str, Any]], out: IO[str], emails: dict[str, str]) -> int:
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    count = 0
    for e in events:
        actor = e["actor"] or {}
        writer.writerow({
            **{k: e[k] for k in ("seq", "type", "at", "phase", "step", "task_id", "prev_hash", "hash")},
            "actor_user": actor.get("user"), "actor_email": emails.get(actor.get("user", ""), ""),
            "actor_org": actor.get("org"), "actor_role": actor.get("role"),
            "data": json.dumps(e["data"], ensure_ascii=False, sort_keys=True)})
        count += 1
    return count
