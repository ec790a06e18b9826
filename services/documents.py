"""Use cases: uploading a document to a project, downloading it, and naming it in a completion."""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import structlog
from sqlalchemy.engine import Engine

from domain import (
    Actor,
    Forbidden,
    InvalidData,
    InvalidRequest,
    NotFound,
    Template,
    format_time,
)
from domain.checks import check_may_complete
from domain.documents import SHA256
from domain.errors import PayloadTooLarge
from domain.limits import shown
from domain.template import Step
from services import access
from services.base import AppBase, personal_state, task_state
from services.document_types import checked
from services.sealing import Erased, Sealer
from store import read
from store.documents import TooLarge, add_document, forget_document, get_document, unused_documents
from store.personal import erased_sealed_documents

log = structlog.get_logger("coopflow.documents")


def resolve_documents(engine: Engine, project_id: str, template: Template, step: Step, data: Any, task_id: str,
                      sealer: Sealer | None) -> Any:
    """A completion names its documents by sha256; the event keeps each one's record. A document
    that was not uploaded to this project is refused before Temporal sees the completion; so is, in a
    project whose personal data is sealed (``sealer``), a personal field's document not uploaded for
    that field of this task (it would have been kept in clear), and a sealed one named elsewhere."""
    if not isinstance(data, dict):
        return data
    resolved, errors = dict(data), {}
    for field in step.form:
        value = data.get(field.name)
        if field.type != "file" or value in (None, "", {}):
            continue
        sha256 = value.get("sha256") if isinstance(value, dict) else value
        found = get_document(engine, project_id, sha256) if isinstance(sha256, str) and SHA256.fullmatch(
            sha256) else None
        place = f"{task_id}.{field.name}" if sealer is not None and field.personal else None
        if found is None:
            errors[field.name] = ("names no document uploaded for this field of this task: upload it with task and "
                                  "field, then name it by the sha256 the upload answered (that of its sealed content)"
                                  if place else "names no document uploaded to this project")
        elif found["sealed_for"] != place:
            errors[field.name] = ("is personal: upload the document for this field of this task (it is sealed as it "
                                  "is uploaded)" if place else "names a sealed document of another field")
        else:
            record = {k: found[k] for k in ("sha256", "name", "size", "media_type")}
            if place is not None and sealer is not None:  # its name is sealed too
                subject = template.subject_of(step.key, field.name, task_id)
                record["name"] = sealer.open(subject, task_id, f"{field.name}:name", found["name"])
            resolved[field.name] = record
    if errors:
        listed = "; ".join(f"{k} {v}" for k, v in errors.items())
        raise InvalidData(f"Some fields are not valid: {listed}.", errors)
    return resolved


def erased_document(project: dict[str, Any], sha256: str) -> NotFound:
    erased_at = personal_state(project).get("erased_at", "")
    return NotFound(f"Document {shown(sha256)} of project '{project['id']}' was erased with the project's personal "
                    f"data{' on ' + erased_at[:10] if erased_at else ''}.")


class Documents(AppBase):
    def upload_document(self, actor: Actor, project_id: str, source: IO[bytes], filename: str, *,
                        task_id: str | None = None, field: str | None = None) -> dict[str, Any]:
        """Keep a document for a project (its members): ``{sha256, name, size, media_type}``.

        For a personal field (``task_id`` and ``field`` name it) of a project whose personal data is sealed,
        content and name are sealed with the subject's data key before they are kept, and ``sha256`` is the
        sealed content's: nothing of the document is kept in clear, nor a plain digest of it.
        Refused, keeping nothing: over ``max_document_bytes`` (413), a type not taken (415, by content).
        """
        project = self._project(actor, project_id)
        if actor.org != project["lead"] and actor.org not in project["partners"]:
            raise Forbidden("Only the organisations of the project can add documents to it.")
        place = self._personal_place(actor, project, task_id, field)
        if place is not None:
            return self._upload_sealed(actor, project_id, source, filename, *place)
        limit = self.max_document_bytes
        try:
            sha256, size, staged = self.documents.put(source, limit)
        except TooLarge:
            raise self._too_large() from None
        try:
            name, media_type = checked(staged, filename, size)
            self.documents.keep(staged, sha256)
        except BaseException:
            self.documents.discard(staged)
            raise
        found = add_document(self.engine, project_id=project_id, sha256=sha256, name=name,
                             size=size, media_type=media_type, uploaded_by=actor.user,
                             uploaded_at=format_time(datetime.now(UTC)))
        return {k: found[k] for k in ("sha256", "name", "size", "media_type")}

    def _too_large(self) -> PayloadTooLarge:
        limit = self.max_document_bytes
        return PayloadTooLarge(f"The document is larger than {limit // (1024 * 1024)} MB.",
                               {"file": f"at most {limit} bytes"})

    def _personal_place(self, actor: Actor, project: dict[str, Any], task_id: str | None, field: str | None
                        ) -> tuple[str, str, str, Template] | None:
        """(task, field, subject, template) when the upload is for a personal file field of a sealed project;
        None for any other document. A field named wrongly is refused, naming it."""
        if task_id is None and field is None:
            return None
        found = read.get_task(self.engine, project["id"], task_id or "") if task_id else None
        if found is None:
            raise InvalidRequest(f"Project {project['id']} has no task '{shown(task_id)}'.", {"task": "unknown"})
        template = self.template_of(project)
        step = template.step(found[1]["step"])
        if field not in {f.name for f in step.form if f.type == "file"}:
            raise InvalidRequest(f"Task {task_id} ({step.key}) has no document field '{shown(field)}'.",
                                 {"field": "is not a document field of this task"})
        check_may_complete(project["partners"], task_state(json.loads(found[1]["view"])), step, actor)
        assert field is not None and task_id is not None
        if not step.form_field(field).personal or not personal_state(project)["sealed"]:
            return None
        return task_id, field, template.subject_of(step.key, field, task_id), template

    def _upload_sealed(self, actor: Actor, project_id: str, source: IO[bytes], filename: str, task_id: str,
                       field: str, subject: str, template: Template) -> dict[str, Any]:
        """A personal document: checked in clear in a temporary file outside the documents' folder (removed
        at once), then kept sealed."""
        content = source.read(self.max_document_bytes + 1)
        if len(content) > self.max_document_bytes:
            raise self._too_large()
        with tempfile.NamedTemporaryFile(prefix="coopflow-check-") as plain:
            plain.write(content)
            plain.flush()
            name, media_type = checked(Path(plain.name), filename, len(content))
        sealer = self.sealer(project_id)
        sealed = sealer.seal_bytes(subject, task_id, field, content)
        sha256, _, staged = self.documents.put(io.BytesIO(sealed), len(sealed))
        try:
            self.documents.keep(staged, sha256)
        except BaseException:
            self.documents.discard(staged)
            raise
        add_document(self.engine, project_id=project_id, sha256=sha256,
                     name=sealer.seal(subject, task_id, f"{field}:name", name), size=len(content),
                     media_type=media_type, uploaded_by=actor.user, uploaded_at=format_time(datetime.now(UTC)),
                     sealed_for=f"{task_id}.{field}")
        return {"sha256": sha256, "name": name, "size": len(content), "media_type": media_type}

    def document(self, actor: Actor, project_id: str, sha256: str, via: str = "api"
                 ) -> tuple[dict[str, Any], Iterator[bytes]]:
        """A project's document for its members and auditors (404 for everyone else): its record and bytes.
        A personal one only for those who may read that task's personal data: opened, and the read noted."""
        project = self._project(actor, project_id)
        found = get_document(self.engine, project_id, sha256) if SHA256.fullmatch(sha256) else None
        if found is not None and found["sealed_for"] and personal_state(project)["status"] == "erased":
            raise erased_document(project, sha256)
        content = self.documents.open(sha256) if found else None
        if found is None or content is None:
            raise NotFound(f"Project '{project_id}' has no document {shown(sha256)}.")
        record = {k: found[k] for k in ("sha256", "name", "size", "media_type")}
        if found["sealed_for"] is None:
            return record, content
        task_id, field = found["sealed_for"].split(".", 1)
        full = read.get_project(self.engine, project_id, with_tasks=True) or project
        template = self.template_of(project)
        task: dict[str, Any] = next((t for t in full.get("tasks", []) if t["id"] == task_id), {})
        if not task or not access.may_read_personal(actor, full, task, access.counterparts(full, template)):
            raise NotFound(f"Project '{project_id}' has no document {shown(sha256)} that you may read.")
        subject, sealer = template.subject_of(task["step"], field, task_id), self.sealer(project_id)
        try:
            record["name"] = sealer.open(subject, task_id, f"{field}:name", found["name"])
            opened = sealer.open_bytes(subject, task_id, field, b"".join(content))
        except Erased:  # erased meanwhile
            raise erased_document(read.get_project(self.engine, project_id) or project, sha256) from None
        self.note_read(actor, project_id, [found["sealed_for"]], via)
        return record, iter([opened])

    def prune_documents(self, *, older_than_days: int, dry_run: bool = False) -> list[dict[str, Any]]:
        """Uploads that no completion used, uploaded more than ``older_than_days`` ago: each project's
        name for them removed, and their bytes too once no project names them (operators: the CLI); and the
        files of erased cases' sealed documents, should their erasure have failed to remove them.
        Returns what was removed (with ``dry_run``: what would be). A completion may name only a
        document its project still has: one naming a pruned upload is refused, and the file is
        uploaded again."""
        if not 1 <= older_than_days <= 36500:
            raise InvalidRequest("Give the age in days, at least 1.", {"older_than_days": "at least 1"})
        cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
        found = unused_documents(self.engine, uploaded_before=format_time(cutoff))
        # and the files of erased cases' sealed documents that their erasure could not remove (whatever age)
        left = [{**d, "name": "(a sealed document of an erased case)"} for d in erased_sealed_documents(self.engine)
                if self.documents.open(d["sha256"]) is not None]
        if dry_run:
            return found + left
        for doc in left:
            self.documents.delete(doc["sha256"], kept_before=float("inf"))
            log.info("an erased case's sealed document removed", project_id=doc["project_id"], sha256=doc["sha256"])
        removed = left
        for doc in found:
            gone, still_named = forget_document(self.engine, doc["project_id"], doc["sha256"])
            if not gone:
                continue  # a completion named it meanwhile
            if not still_named:
                self.documents.delete(doc["sha256"], kept_before=cutoff.timestamp())
            log.info("unused document removed", project_id=doc["project_id"], sha256=doc["sha256"])
            removed.append(doc)
        return removed
