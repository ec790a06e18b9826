"""Personal data in the store: the subjects' data keys (wrapped), the log of who was shown what, and
what an erasure does to the read models in the write that records it."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

from domain import Actor
from store.db import writer_lock
from store.models import DataKey, Document, PersonalDataRead, Project, Task

K = DataKey.__table__  # type: ignore[attr-defined]
R = PersonalDataRead.__table__  # type: ignore[attr-defined]
T = Task.__table__  # type: ignore[attr-defined]
D = Document.__table__  # type: ignore[attr-defined]
P = Project.__table__  # type: ignore[attr-defined]


_DATA_KEY = select(K).where(K.c.project_id == bindparam("project_id"), K.c.subject == bindparam("subject"))


def data_key(engine: Engine, project_id: str, subject: str) -> dict[str, Any] | None:
    """A subject's wrapped data key (read on every completion and read of personal data: built once)."""
    with engine.connect() as conn:
        row = conn.execute(_DATA_KEY, {"project_id": project_id, "subject": subject}).mappings().first()
    return dict(row) if row else None


def add_data_key(engine: Engine, *, project_id: str, subject: str, kek_id: str, wrapped: str,
                 created_at: str) -> dict[str, Any]:
    """Keep a subject's new data key; when another process kept one first, theirs is the key (returned)."""
    insert: Any = postgresql_insert if engine.dialect.name == "postgresql" else sqlite_insert
    with writer_lock(engine), engine.begin() as conn:
        conn.execute(insert(K).on_conflict_do_nothing(), {
            "project_id": project_id, "subject": subject, "kek_id": kek_id, "wrapped": wrapped,
            "created_at": created_at})
    found = data_key(engine, project_id, subject)
    assert found is not None
    return found


def data_keys(engine: Engine, project_id: str | None = None) -> list[dict[str, Any]]:
    """Every data key (of one project), for rewrapping and for the erasure tests."""
    query = select(K).order_by(K.c.project_id, K.c.subject)
    if project_id is not None:
        query = query.where(K.c.project_id == project_id)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def rewrap_data_key(engine: Engine, *, project_id: str, subject: str, old: str, kek_id: str, wrapped: str) -> bool:
    """Replace a key's wrapping, unless it changed (or went) meanwhile; True when replaced."""
    with writer_lock(engine), engine.begin() as conn:
        done = conn.execute(update(K).where(K.c.project_id == project_id, K.c.subject == subject,
                                            K.c.wrapped == old).values(kek_id=kek_id, wrapped=wrapped))
    return bool(done.rowcount)


def record_read(engine: Engine, *, project_id: str, at: str, actor: Actor, fields: list[str], via: str) -> None:
    """Note that ``actor`` was shown these personal fields (``<task id>.<field>``), never their values."""
    with writer_lock(engine), engine.begin() as conn:
        conn.execute(R.insert(), {"project_id": project_id, "at": at, "user_id": actor.user, "org": actor.org,
                                  "role": actor.role, "fields": json.dumps(fields), "via": via})


def reads(engine: Engine, project_id: str) -> list[dict[str, Any]]:
    """Who was shown the project's personal data, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(select(R).where(R.c.project_id == project_id).order_by(R.c.id)).mappings()
        return [{"at": r["at"], "user_id": r["user_id"], "org": r["org"], "role": r["role"],
                 "fields": json.loads(r["fields"]), "via": r["via"]} for r in rows]


def sealed_documents(engine: Engine, project_id: str) -> list[dict[str, Any]]:
    """The project's documents of personal fields (their content sealed)."""
    with engine.connect() as conn:
        rows = conn.execute(select(D).where(D.c.project_id == project_id, D.c.sealed_for.is_not(None))
                            .order_by(D.c.uploaded_at)).mappings()
        return [dict(r) for r in rows]


def erased_sealed_documents(engine: Engine) -> list[dict[str, Any]]:
    """The sealed documents of every project whose personal data was erased (their files should be gone)."""
    with engine.connect() as conn:
        rows = conn.execute(select(D, P.c.personal_data).join(P, P.c.id == D.c.project_id).where(
            D.c.sealed_for.is_not(None), P.c.personal_data.is_not(None))).mappings()
        return [{k: r[k] for k in D.c.keys()} for r in rows if json.loads(r["personal_data"])["status"] == "erased"]


def erase_in(conn: Connection, project_id: str) -> int:
    """In the transaction that records a project's ``PersonalDataErased``: destroy its data keys (every
    value and document sealed with them can no longer be opened, wherever a copy is) and empty the
    personal values of its task views (each says which fields were erased). Returns the keys destroyed."""
    destroyed = conn.execute(delete(K).where(K.c.project_id == project_id)).rowcount
    for task_id, view_text in conn.execute(select(T.c.id, T.c.view).where(T.c.project_id == project_id)).all():
        view = json.loads(view_text)
        personal = {f["name"] for f in view.get("form", []) if f.get("personal")}
        gone = sorted(n for n in personal if (view.get("data") or {}).get(n) is not None)
        if gone:
            view["data"] = {**view["data"], **dict.fromkeys(gone)}
            view["erased_fields"] = sorted({*view.get("erased_fields", []), *gone})
            conn.execute(update(T).where(T.c.project_id == project_id, T.c.id == task_id).values(
                view=json.dumps(view, ensure_ascii=False)))
    return int(destroyed)
