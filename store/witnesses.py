"""Organisations' witnesses, the cosignatures they gave (append-only) and how submissions to them go."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from store.db import writer_lock
from store.models import Checkpoint, Cosignature, OrgWitness, Project, ProjectPartner, WitnessStatus

W = OrgWitness.__table__  # type: ignore[attr-defined]
S = Cosignature.__table__  # type: ignore[attr-defined]
T = WitnessStatus.__table__  # type: ignore[attr-defined]
C = Checkpoint.__table__  # type: ignore[attr-defined]
P = Project.__table__  # type: ignore[attr-defined]
PP = ProjectPartner.__table__  # type: ignore[attr-defined]


def _insert(engine: Engine) -> Any:
    return postgresql_insert if engine.dialect.name == "postgresql" else sqlite_insert


def set_witness(engine: Engine, *, org_id: str, url: str, key: str, registered_at: str) -> None:
    """Register (or replace) the organisation's witness."""
    statement = _insert(engine)(W).values(org_id=org_id, url=url, key=key, registered_at=registered_at)
    with writer_lock(engine), engine.begin() as conn:
        conn.execute(statement.on_conflict_do_update(index_elements=["org_id"], set_={
            "url": url, "key": key, "registered_at": registered_at}))


def remove_witness(engine: Engine, org_id: str) -> bool:
    with writer_lock(engine), engine.begin() as conn:
        return bool(conn.execute(W.delete().where(W.c.org_id == org_id)).rowcount)


def witnesses(engine: Engine) -> dict[str, dict[str, Any]]:
    """Every registered witness, by organisation."""
    with engine.connect() as conn:
        return {r["org_id"]: dict(r) for r in conn.execute(select(W)).mappings()}


def project_orgs(engine: Engine, project_ids: list[str] | None = None) -> dict[str, set[str]]:
    """The organisations of each project (lead and partners)."""
    leads = select(P.c.id, P.c.lead)
    partners = select(PP.c.project_id, PP.c.org_id)
    if project_ids is not None:
        leads, partners = leads.where(P.c.id.in_(project_ids)), partners.where(PP.c.project_id.in_(project_ids))
    found: dict[str, set[str]] = {}
    with engine.connect() as conn:
        for pid, org in [*conn.execute(leads), *conn.execute(partners)]:
            found.setdefault(pid, set()).add(org)
    return found


def add_cosignature(engine: Engine, *, project_id: str, tree_size: int, org_id: str, key_name: str, line: str,
                    time: int) -> bool:
    """Keep a cosignature with its checkpoint; False when one by that organisation is kept already."""
    with writer_lock(engine), engine.begin() as conn:
        done = conn.execute(_insert(engine)(S).on_conflict_do_nothing(), {
            "project_id": project_id, "tree_size": tree_size, "org_id": org_id, "key_name": key_name,
            "line": line, "time": time})
    return bool(done.rowcount)


def cosignatures(engine: Engine, project_id: str, tree_size: int) -> list[dict[str, Any]]:
    """The cosignatures kept of one checkpoint, in the order they came."""
    query = select(S).where(S.c.project_id == project_id, S.c.tree_size == tree_size).order_by(S.c.time, S.c.org_id)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def latest_uncosigned(engine: Engine, registered: set[str]) -> dict[str, dict[str, Any]]:
    """Each project's latest kept checkpoint that some registered witness of its organisations has not
    cosigned yet, with the organisations still to ask: ``{project: {checkpoint row, "orgs": [...]}}``.
    Projects whose latest checkpoint is cosigned by all of them are left out (the work stays bounded)."""
    if not registered:  # no organisation runs a witness: the minutely run reads nothing
        return {}
    latest = select(C.c.project_id, func.max(C.c.tree_size).label("size")).group_by(C.c.project_id).subquery()
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(C).join(latest, and_(
            C.c.project_id == latest.c.project_id, C.c.tree_size == latest.c.size))).mappings()]
        done = {(r.project_id, r.org_id) for r in conn.execute(select(S.c.project_id, S.c.org_id).join(latest, and_(
            S.c.project_id == latest.c.project_id, S.c.tree_size == latest.c.size)))}
    orgs = project_orgs(engine, [r["project_id"] for r in rows]) if rows else {}
    found = {}
    for row in rows:
        todo = sorted(o for o in orgs.get(row["project_id"], set()) & registered if (row["project_id"], o) not in done)
        if todo:
            found[row["project_id"]] = {**row, "orgs": todo}
    return found


def statuses(engine: Engine, project_id: str | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    query = select(T) if project_id is None else select(T).where(T.c.project_id == project_id)
    with engine.connect() as conn:
        return {(r["project_id"], r["org_id"]): dict(r) for r in conn.execute(query).mappings()}


def set_status(engine: Engine, *, project_id: str, org_id: str, values: dict[str, Any]) -> None:
    """Keep how the latest submission went (``cosigned_size``, ``tried_size``, ``last_error``, ``failing_since``,
    ``updated_at``)."""
    row = {"project_id": project_id, "org_id": org_id, **values}
    statement = _insert(engine)(T).values(**row)
    with writer_lock(engine), engine.begin() as conn:
        conn.execute(statement.on_conflict_do_update(index_elements=["project_id", "org_id"], set_=values))
