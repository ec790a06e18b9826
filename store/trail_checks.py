"""Kept trail checks (docs/verification.md), and the raw reads that check a trail fast: its rows streamed in seq
order over one connection, the hash of one row and how many rows lie at or below it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from domain import format_time
from domain.chain_stream import pack
from domain.merkle import append_leaf, leaf_hash
from store.db import writer_lock
from store.models import AuditEvent, TrailCheck

E = AuditEvent.__table__  # type: ignore[attr-defined]
K = TrailCheck.__table__  # type: ignore[attr-defined]

# the columns stored_event_hash takes, in its order, then the stored hash
ROW_COLUMNS = (E.c.seq, E.c.type, E.c.at, E.c.actor_user, E.c.actor_org, E.c.actor_role, E.c.phase, E.c.step,
               E.c.task_id, E.c.data, E.c.prev_hash, E.c.hash)


def kept_check(engine: Engine, project_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(K).where(K.c.project_id == project_id)).mappings().first()
    return dict(row) if row is not None else None


def keep_checks(engine: Engine, kept: list[dict[str, Any]]) -> None:
    """Keep checks (upserts; each a ``TrailCheck`` row as a dict)."""
    if not kept:
        return
    insert: Any = postgresql_insert if engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(K)
    statement = statement.on_conflict_do_update(
        index_elements=["project_id"], set_={c.name: statement.excluded[c.name] for c in K.c if c.name != "project_id"})
    with writer_lock(engine), engine.begin() as conn:
        conn.execute(statement, kept)


def forget_check(engine: Engine, project_id: str) -> None:
    """A trail that does not hold keeps no check: every look at it is a full one until it holds again."""
    with writer_lock(engine), engine.begin() as conn:
        conn.execute(delete(K).where(K.c.project_id == project_id))


def row_at(engine: Engine, project_id: str, seq: int) -> tuple[str | None, int]:
    """The stored hash of event ``seq`` (None when there is no such row) and how many rows have a seq ≤ it."""
    with engine.connect() as conn:
        found = conn.execute(select(E.c.hash).where(E.c.project_id == project_id, E.c.seq == seq)).scalar()
        below = conn.execute(select(func.count()).select_from(E).where(
            E.c.project_id == project_id, E.c.seq <= seq)).scalar_one()
    return found, below


def stored_rows(engine: Engine, project_id: str, after: int = 0, *, batch: int = 2000) -> Iterator[tuple[Any, ...]]:
    """The project's events after seq ``after`` as raw rows (``ROW_COLUMNS``), in seq order, streamed over one
    connection (a server-side cursor on PostgreSQL): memory stays flat however long the trail."""
    query = select(*ROW_COLUMNS).where(E.c.project_id == project_id, E.c.seq > after).order_by(E.c.seq)
    with engine.connect() as conn:
        yield from conn.execution_options(stream_results=True, yield_per=batch).execute(query)


def stored_hashes(engine: Engine, project_id: str, upto: int) -> list[str]:
    """The hashes of events 1..``upto`` (a rare fallback: a checkpoint the kept check was not made against)."""
    with engine.connect() as conn:
        return list(conn.execute(select(E.c.hash).where(E.c.project_id == project_id, E.c.seq <= upto)
                                 .order_by(E.c.seq)).scalars())


def frontier_state(hashes: Sequence[str], size: int) -> list[bytes]:
    """The frontier of the first ``size - 1`` of ``hashes`` (what is kept: the last leaf is read from its row)."""
    frontier: list[bytes] = []
    for n, h in enumerate(hashes[:max(size - 1, 0)]):
        append_leaf(frontier, n, leaf_hash(bytes.fromhex(h)))
    return frontier


def full_check_kept(project_id: str, hashes: Sequence[str], checkpoint_size: int | None,
                    at: str | None = None) -> dict[str, Any] | None:
    """The kept check after a full check found the trail (with these event hashes) to hold; None for an empty
    trail (nothing to keep)."""
    size = len(hashes)
    if not size:
        return None
    before = frontier_state(hashes, size)
    cp = checkpoint_size if checkpoint_size is not None and 1 <= checkpoint_size <= size else None
    when = at or format_time(datetime.now(UTC))
    return {"project_id": project_id, "size": size, "head": hashes[-1], "frontier": pack(before),
            "checkpoint_size": cp, "checkpoint_frontier": pack(frontier_state(hashes, cp)) if cp else None,
            "full_size": size, "full_at": when, "checked_at": when}


def keep_full_check(engine: Engine, project_id: str, events: Sequence[Mapping[str, Any]], ok: bool,
                    checkpoint_size: int | None) -> None:
    """Replace the kept check by what a full check found: the trail as it is when it holds, nothing when not."""
    kept = full_check_kept(project_id, [str(e["hash"]) for e in events], checkpoint_size) if ok else None
    if kept is None:
        forget_check(engine, project_id)
    else:
        keep_checks(engine, [kept])
