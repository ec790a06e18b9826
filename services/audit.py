"""The auditor's tools: verification anchored to the project, from a file; exports (against Temporal:
``services/history_check.py``)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from domain import InvalidRequest, verify_chain

CSV_COLUMNS = ["seq", "type", "at", "actor_user", "actor_email", "actor_org", "actor_role", "phase", "step",
               "task_id", "data", "prev_hash", "hash"]


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
