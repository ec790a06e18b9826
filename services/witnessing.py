"""Sending kept checkpoints to the witnesses of the projects' organisations, and keeping what comes back.

Run by the ``submit_to_witnesses`` activity every minute (a Temporal Schedule), never on a completion's path:
a witness that is down or answers an error delays nothing but its own cosignature. Only projects whose latest
checkpoint some registered witness has not cosigned are looked at; each witness is asked by its own thread,
and one that cannot be reached is not asked again in the same run.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from sqlalchemy.engine import Engine

from domain import InvalidRequest, NotFound, format_time
from domain.merkle import consistency_proof, trail_leaves
from evidence.cosignature import WitnessKey
from evidence.notes import NoteError
from store import iter_events
from store.accounts import existing_orgs
from store.checkpoints import add_alarm
from store.witnesses import add_cosignature, latest_uncosigned, set_status, set_witness, statuses, witnesses
from witness.client import Conflict, Cosigned, Outcome, Refused, request_cosignature

log = structlog.get_logger("coopflow.witnessing")
INCONSISTENT = "refused as inconsistent"  # how a fork or rollback a witness saw begins in the status


def register_witness(engine: Engine, org_id: str, url: str, key: str) -> dict[str, Any]:
    """Register (or replace) the witness an organisation runs: its URL (coopflow posts to <url>/add-checkpoint)
    and its verifier key, both checked before they are kept."""
    if org_id not in existing_orgs(engine, [org_id]):
        raise NotFound(f"There is no organisation '{org_id}' (`coopflow org list`).", {"org": "unknown"})
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise InvalidRequest(f"'{url[:100]}' is not a witness URL: give http(s)://host[/path], as the witness's "
                             "administrator gave it.", {"url": "not an http(s) URL"})
    try:
        parsed = WitnessKey.parse(key)
    except NoteError as error:
        raise InvalidRequest(f"--key is not a witness's verifier key: {error.message}", {"key": "invalid"}) from None
    row = {"org_id": org_id, "url": url.rstrip("/"), "key": str(parsed), "registered_at": _now()}
    set_witness(engine, **row)
    return row


def submit_to_witnesses(engine: Engine, *, timeout: float = 5.0,
                        heartbeat: Callable[[str], None] = lambda _: None) -> dict[str, int]:
    """Ask every registered witness to cosign the latest checkpoint of each of its organisations' projects
    that it has not cosigned; returns how many were cosigned and how many asks failed."""
    registered = witnesses(engine)
    by_org: dict[str, list[dict[str, Any]]] = {}
    for row in latest_uncosigned(engine, set(registered)).values():
        for org in row["orgs"]:
            by_org.setdefault(org, []).append(row)
    known = statuses(engine)

    def one(org: str) -> tuple[int, int]:
        done = _ask_witness(engine, org, registered[org], by_org[org], known, timeout)
        heartbeat(org)
        return done

    with ThreadPoolExecutor(max_workers=max(1, min(8, len(by_org)))) as pool:
        results = list(pool.map(one, sorted(by_org)))
    counts = {"cosigned": sum(r[0] for r in results), "failed": sum(r[1] for r in results)}
    if by_org:
        log.info("checkpoints sent to witnesses", witnesses=len(by_org), **counts)
    return counts


def _ask_witness(engine: Engine, org: str, witness: dict[str, Any], rows: list[dict[str, Any]],
                 known: dict[tuple[str, str], dict[str, Any]], timeout: float) -> tuple[int, int]:
    cosigned = failed = 0
    try:
        key = WitnessKey.parse(witness["key"])
    except NoteError as error:
        for row in rows:
            _failed(engine, row, org, known, f"the registered witness key does not hold: {error.message}")
        return 0, len(rows)
    with httpx.Client(timeout=timeout) as http:
        for number, row in enumerate(rows):
            try:
                outcome = _ask(engine, http, witness["url"], key, row, known.get((row["project_id"], org), {}))
            except httpx.HTTPError as error:  # unreachable: not asked again in this run, for no project
                for left in rows[number:]:
                    _failed(engine, left, org, known, f"unreachable ({type(error).__name__})")
                return cosigned, failed + len(rows) - number
            if isinstance(outcome, Cosigned):
                add_cosignature(engine, project_id=row["project_id"], tree_size=row["tree_size"], org_id=org,
                                key_name=key.name, line=outcome.lines, time=outcome.time)
                set_status(engine, project_id=row["project_id"], org_id=org, values={
                    "cosigned_size": row["tree_size"], "tried_size": row["tree_size"], "last_error": None,
                    "failing_since": None, "updated_at": _now()})
                cosigned += 1
            else:
                _refused(engine, row, org, known, outcome)
                failed += 1
    return cosigned, failed


def _ask(engine: Engine, http: httpx.Client, url: str, key: WitnessKey, row: dict[str, Any],
         status: dict[str, Any]) -> Outcome | str:
    """One checkpoint to one witness, proved from the size it last cosigned (0 at first, or when that is above
    this checkpoint's: the witness then names its size and refuses the rollback)."""
    size = row["tree_size"]
    hashes = [e["hash"] for e in iter_events(engine, row["project_id"])][:size]
    if len(hashes) < size:
        return f"the trail has {len(hashes)} events, fewer than its checkpoint's {size}: not sent"
    leaves = trail_leaves(hashes)
    old = status.get("cosigned_size", 0)
    old = old if old <= size else 0
    if status.get("tried_size") == size and str(status.get("last_error") or "").startswith(INCONSISTENT):
        return str(status["last_error"])  # a witness that saw a fork does not change its mind: not asked again
    return request_cosignature(url, key, row["note"], old, lambda s: consistency_proof(leaves, s), client=http)


def _refused(engine: Engine, row: dict[str, Any], org: str, known: dict[tuple[str, str], dict[str, Any]],
             outcome: Outcome | str) -> None:
    """A refusal: kept in the status; a fork or rollback the witness saw (422, or a tree larger than this
    checkpoint's) is also a trail alarm, once per checkpoint, for people to see."""
    if isinstance(outcome, str):
        _failed(engine, row, org, known, outcome)
        return
    if isinstance(outcome, Conflict):
        _failed(engine, row, org, known, f"the witness's size changed again (it knows {outcome.size})")
        return
    assert isinstance(outcome, Refused)
    if outcome.status == 422 or outcome.status == 409:
        reason = f"{INCONSISTENT} ({outcome.status}): {outcome.text[:200]}"
        before = known.get((row["project_id"], org), {})
        if (before.get("tried_size"), before.get("last_error")) != (row["tree_size"], reason):
            add_alarm(engine, project_id=row["project_id"], found_at=_now(), size=row["tree_size"], witness=org,
                      reason=f"The witness of {org} refused the checkpoint of {row['tree_size']} events as "
                             f"inconsistent with what it cosigned before ({outcome.status}).")
            log.error("a witness refused a checkpoint as inconsistent", project_id=row["project_id"], org=org)
        _failed(engine, row, org, known, reason)
        return
    _failed(engine, row, org, known, f"refused ({outcome.status}): {outcome.text[:200]}")


def _failed(engine: Engine, row: dict[str, Any], org: str, known: dict[tuple[str, str], dict[str, Any]],
            error: str) -> None:
    before = known.get((row["project_id"], org), {})
    now = _now()
    set_status(engine, project_id=row["project_id"], org_id=org, values={
        "cosigned_size": before.get("cosigned_size", 0), "tried_size": row["tree_size"], "last_error": error,
        "failing_since": before.get("failing_since") or now, "updated_at": now})


def _now() -> str:
    return format_time(datetime.now(UTC))
