"""Signed checkpoints of projects' trails, kept append-only (the database refuses UPDATE and DELETE)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from store.db import writer_lock
from store.models import Checkpoint, TrailAlarm

C = Checkpoint.__table__  # type: ignore[attr-defined]
A = TrailAlarm.__table__  # type: ignore[attr-defined]


def add_checkpoint(engine: Engine, *, project_id: str, tree_size: int, root_hash: str, note: str,
                   created_at: str) -> bool:
    """Keep a checkpoint; False when one at that size is kept already (the first stays)."""
    insert: Any = postgresql_insert if engine.dialect.name == "postgresql" else sqlite_insert
    with writer_lock(engine), engine.begin() as conn:
        done = conn.execute(insert(C).on_conflict_do_nothing(), {
            "project_id": project_id, "tree_size": tree_size, "root_hash": root_hash, "note": note,
            "created_at": created_at})
    return bool(done.rowcount)


def checkpoints(engine: Engine, project_id: str) -> list[dict[str, Any]]:
    """The project's checkpoints, oldest (smallest) first."""
    with engine.connect() as conn:
        rows = conn.execute(select(C).where(C.c.project_id == project_id).order_by(C.c.tree_size)).mappings()
        return [dict(r) for r in rows]


def latest_checkpoint(engine: Engine, project_id: str) -> dict[str, Any] | None:
    """The project's largest checkpoint: one row, by the primary key (project, size) read backwards."""
    with engine.connect() as conn:
        row = conn.execute(select(C).where(C.c.project_id == project_id).order_by(C.c.tree_size.desc())
                           .limit(1)).mappings().first()
    return dict(row) if row is not None else None


def latest_sizes(engine: Engine) -> dict[str, int]:
    """Each project's largest checkpointed size."""
    with engine.connect() as conn:
        return {r[0]: r[1] for r in conn.execute(select(C.c.project_id, func.max(C.c.tree_size))
                                                 .group_by(C.c.project_id))}


def add_alarm(engine: Engine, *, project_id: str, found_at: str, size: int, reason: str,
              witness: str | None = None) -> None:
    """Record that a trail was found not to hold (append-only): the signer signed nothing, or the ``witness``
    (an organisation's) refused a checkpoint as inconsistent with what it cosigned before."""
    with writer_lock(engine), engine.begin() as conn:
        conn.execute(A.insert(), {"project_id": project_id, "found_at": found_at, "size": size, "reason": reason,
                                  "witness": witness})


def alarms(engine: Engine, project_id: str | None = None) -> list[dict[str, Any]]:
    """The trail alarms (of one project, or all), newest first."""
    query = select(A).order_by(A.c.id.desc())
    if project_id is not None:
        query = query.where(A.c.project_id == project_id)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]
