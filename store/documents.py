"""Documents: their bytes by sha256 in a storage (a folder by default), their names per project in the store."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Protocol

from sqlalchemy import Exists, delete, exists, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from store.db import writer_lock
from store.models import AuditEvent, Document, Incident

D = Document.__table__  # type: ignore[attr-defined]
E = AuditEvent.__table__  # type: ignore[attr-defined]
INCIDENTS = Incident.__table__  # type: ignore[attr-defined]
_CHUNK = 1 << 16


class TooLarge(Exception):
    """The upload is over the limit; nothing was kept."""


class DocumentStorage(Protocol):
    """Where documents' bytes live, addressed by their SHA-256. A deployment may point this elsewhere
    (an object store) by implementing these five methods."""

    def put(self, source: IO[bytes], limit: int) -> tuple[str, int, Path]:
        """Take the bytes (at most ``limit``): (sha256, size, a local file holding them until ``keep``)."""
        ...

    def keep(self, staged: Path, sha256: str) -> None:
        """Keep staged bytes under their hash (idempotent), or drop them: ``discard``."""
        ...

    def discard(self, staged: Path) -> None: ...

    def open(self, sha256: str) -> Iterator[bytes] | None:
        """The bytes in chunks, or None when they are not there."""
        ...

    def delete(self, sha256: str, *, kept_before: float) -> bool:
        """Drop the bytes, which no project names any more (``coopflow documents prune``), unless they
        were kept again since ``kept_before`` (a Unix time: an upload of the same content under way)."""
        ...


class FolderStorage:
    """Content-addressed files: ``<root>/<first two hex digits>/<sha256>``, written once, never changed."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, source: IO[bytes], limit: int) -> tuple[str, int, Path]:
        self.root.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        fd, name = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(_CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge
                    digest.update(chunk)
                    out.write(chunk)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return digest.hexdigest(), size, Path(name)

    def keep(self, staged: Path, sha256: str) -> None:
        target = self._path(sha256)
        target.parent.mkdir(exist_ok=True)
        if target.exists():
            staged.unlink(missing_ok=True)
            os.utime(target)  # kept again: a prune under way leaves it (see ``delete``)
        else:
            staged.chmod(0o640)
            staged.replace(target)

    def discard(self, staged: Path) -> None:
        staged.unlink(missing_ok=True)

    def open(self, sha256: str) -> Iterator[bytes] | None:
        path = self._path(sha256)
        if len(sha256) != 64 or not path.is_file():
            return None

        def chunks() -> Iterator[bytes]:
            with path.open("rb") as f:
                while chunk := f.read(_CHUNK):
                    yield chunk
        return chunks()

    def delete(self, sha256: str, *, kept_before: float) -> bool:
        path = self._path(sha256)
        try:
            if len(sha256) != 64 or path.stat().st_mtime >= kept_before:
                return False
        except FileNotFoundError:
            return False
        path.unlink(missing_ok=True)
        return True


def add_document(engine: Engine, *, project_id: str, sha256: str, name: str, size: int, media_type: str,
                 uploaded_by: str, uploaded_at: str, sealed_for: str | None = None) -> dict[str, Any]:
    """Name a document in a project; the same content uploaded again keeps its first name. A sealed one
    (``sealed_for``: its task and field) has its sealed name, and a hash of its sealed content."""
    insert: Any = postgresql_insert if engine.dialect.name == "postgresql" else sqlite_insert
    with writer_lock(engine), engine.begin() as conn:
        conn.execute(insert(D).on_conflict_do_nothing(), {
            "project_id": project_id, "sha256": sha256, "name": name, "size": size, "media_type": media_type,
            "uploaded_by": uploaded_by, "uploaded_at": uploaded_at, "sealed_for": sealed_for})
    found = get_document(engine, project_id, sha256)
    assert found is not None
    return found


def get_document(engine: Engine, project_id: str, sha256: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(D).where(D.c.project_id == project_id, D.c.sha256 == sha256)).mappings().first()
    return dict(row) if row else None


def project_documents(engine: Engine, project_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(D).where(D.c.project_id == project_id).order_by(D.c.uploaded_at)).mappings()
        return [dict(r) for r in rows]


def _named(project_id: Any, sha256: Any) -> Exists:
    """Whether a stored event of the project names the document (its data holds the hash)."""
    return exists().where(E.c.project_id == project_id, E.c.data.contains(sha256))


def unused_documents(engine: Engine, *, uploaded_before: str) -> list[dict[str, Any]]:
    """Documents uploaded before ``uploaded_before`` that no stored event of their project names
    (uploaded for a completion that never came), oldest first. A project with an open incident has
    events the store does not hold yet, which may name its uploads: its documents are left alone."""
    named = _named(D.c.project_id, D.c.sha256)
    paused = exists().where(INCIDENTS.c.project_id == D.c.project_id)
    with engine.connect() as conn:
        rows = conn.execute(select(D).where(D.c.uploaded_at < uploaded_before, ~named, ~paused)
                            .order_by(D.c.uploaded_at)).mappings()
        return [dict(r) for r in rows]


def forget_document(engine: Engine, project_id: str, sha256: str) -> tuple[bool, bool]:
    """Remove the project's name for an unused document: (whether it was removed, whether any project
    still names the same bytes). Checked again in the same transaction: a document an event names
    meanwhile stays."""
    named = _named(project_id, sha256)
    with writer_lock(engine), engine.begin() as conn:
        removed = conn.execute(delete(D).where(D.c.project_id == project_id, D.c.sha256 == sha256,
                                               ~named)).rowcount > 0
        still = conn.execute(select(D.c.project_id).where(D.c.sha256 == sha256).limit(1)).first() is not None
    return removed, still
