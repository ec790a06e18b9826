"""The activity that writes a project's events to the store: with its read models and the mail they cause
(``mail.py`` composes it) in one transaction, the erasure of personal data's keys in the transaction that
records it, and the closing checkpoint of a project that ended (``checkpoints.py``) after it."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.engine import Connection, Engine
from temporalio import activity
from temporalio.common import MetricHistogramTimedelta
from temporalio.exceptions import ApplicationError, CancelledError

from activities.checkpoints import closing_checkpoint
from activities.contracts import RECORD_EVENTS, STORE_REFUSED, RecordEvents
from activities.mail import mails_for
from domain import Template, format_time
from domain.tally import TemplateRef
from evidence.notes import Signer
from store import ChainConflict, is_unavailable, record_batch, record_incident, refusal
from store.documents import DocumentStorage
from store.personal import erase_in, sealed_documents
from store.pinned import PinnedTemplates
from store.template_texts import PinnedTextError, keep_text
from workflows.templates import TemplateNotInstalled, resolve

log = structlog.get_logger("coopflow.activities")
ENDINGS = ("ProjectEnded", "ProjectCancelled")
ERASURE = "PersonalDataErased"


class StoreWrites:
    """The store-write activity; registered as a bound method so that its attempts share the engine."""

    def __init__(self, engine: Engine, public_url: str = "http://127.0.0.1:8000", *,
                 signer: Signer | None = None, fault: Callable[[str], None] | None = None,
                 documents: DocumentStorage | None = None) -> None:
        self._engine = engine
        self._documents = documents  # where an erased project's sealed documents are removed from
        self._signer = signer  # signs a checkpoint when a project ends
        self._fault = fault  # crashes on purpose at a named point (faults.py: tests and bench/chaos.py only)
        self._public_url = public_url
        self._templates = PinnedTemplates(engine)  # each project's template as it pinned it
        self._write_latency: MetricHistogramTimedelta | None = None  # made by the first write, then kept

    def _template(self, batch: RecordEvents) -> tuple[Template, str | None]:
        """The template as the project pinned it, and the digest its text is to be kept by now (else None): a first
        batch whose first event names it by digest (its text is not in the store yet) finds it in the worker's own
        registry (``workflows/templates.py``), never in the activity's input; an older first batch carries it."""
        project_id = batch.project["id"]
        first = batch.events[0].data if batch.events and batch.events[0].seq == 1 else None
        if first is not None and "template_ref" in first and "template" not in first:
            ref = TemplateRef.model_validate(first["template_ref"])
            return self._templates.keep(project_id, ref.digest, resolve(project_id, ref)), ref.digest
        return self._templates.of(project_id, first), None

    def _latency(self) -> MetricHistogramTimedelta:
        """How long a batch's store write took, through the SDK's meter (served with its metrics)."""
        if self._write_latency is None:
            self._write_latency = activity.metric_meter().create_histogram_timedelta(
                "coopflow_store_write_latency", "How long writing one batch of events to the store took.",
                unit="ms")
        return self._write_latency

    def _crash(self, point: str) -> None:
        """Crash here if the faults (tests, bench/chaos.py) say so."""
        if self._fault is not None:
            self._fault(point)

    def _remove_sealed_documents(self, project_id: str) -> None:
        """An erased project's sealed documents: noise without their key, and removed from the storage (their
        rows stay, as the record of what was there: a hash of the sealed bytes, a sealed name). The erasure
        is done and recorded already: a file that cannot be removed is logged, never the write's failure
        (`coopflow documents prune` removes it later)."""
        if self._documents is None:
            return
        for document in sealed_documents(self._engine, project_id):
            try:
                self._documents.delete(document["sha256"], kept_before=float("inf"))
            except Exception:
                log.exception("an erased project's sealed document could not be removed; `coopflow documents "
                              "prune` removes it later", project_id=project_id, sha256=document["sha256"])

    # A worker that is told to stop cancels its running activities, and the SDK would raise that
    # cancellation inside this thread, at whatever line it is on: mid-transaction. A write takes
    # milliseconds; it finishes, and the stopping worker waits for it and reports it.
    @activity.defn(name=RECORD_EVENTS, no_thread_cancel_exception=True)
    def record_events(self, batch: RecordEvents) -> int:
        """Append the batch idempotently; returns how many events were new to the store.

        A store that is away raises as it is, and Temporal retries with back-off until it is
        back. A write that can never succeed (a different event already at a seq, data the
        database refuses, a bug) is recorded as an incident and fails without retries: the
        workflow then waits for an operator instead of retrying for ever. A cancellation is
        never the store's refusal: it is raised as it is, and the write is tried again.
        """
        began = time.monotonic()
        info = activity.info()
        with structlog.contextvars.bound_contextvars(project_id=batch.project["id"], workflow_id=info.workflow_id,
                                                     attempt=info.attempt):
            return self._record(batch, began)

    def _record(self, batch: RecordEvents, began: float) -> int:
        erasure = any(e.type == ERASURE for e in batch.events)

        def in_transaction(conn: Connection) -> list[dict[str, Any]]:
            self._crash("write.stop")
            template, digest = self._template(batch)
            if digest is not None:  # the text the first event names by digest, in the transaction that writes it
                keep_text(conn, template, digest, format_time(datetime.now(UTC)))
            if erasure:  # the keys go in the very transaction that records their erasure
                self._crash("erase.event_written")
                erase_in(conn, batch.project["id"])
                self._crash("erase.keys_destroyed")
            return mails_for(batch, conn, template=template, public_url=self._public_url)

        try:
            written = record_batch(self._engine, project=batch.project, events=batch.events, tasks=batch.tasks,
                                   resolves_incident=batch.resolves_incident, mails=in_transaction)
        except Exception as error:
            # a template this worker cannot find (yet): tried again until it is installed, as the workflow waits
            if is_unavailable(error) or isinstance(error, CancelledError | TemplateNotInstalled):
                raise
            # every member of the project reads the reason: what kind of refusal, never the data refused
            reason = str(error) if isinstance(error, ChainConflict | PinnedTextError) else refusal(error)
            project_id, seq = batch.project["id"], batch.events[0].seq if batch.events else 0
            log.error("the store refused a project's events; the project waits for an operator",
                      project_id=project_id, seq=seq, reason=reason)
            try:
                record_incident(self._engine, project_id=project_id, seq=seq, since=format_time(datetime.now(UTC)),
                                reason=reason)
            except Exception:
                log.exception("the incident could not be recorded in the store either", project_id=project_id)
            raise ApplicationError(reason, type=STORE_REFUSED, non_retryable=True) from None
        self._latency().record(timedelta(seconds=time.monotonic() - began))
        if erasure:  # after the commit, every attempt: a retry after a crash here removes the rest
            self._remove_sealed_documents(batch.project["id"])
        if self._signer is not None and any(e.type in (*ENDINGS, ERASURE) for e in batch.events):
            self._crash("checkpoint.before")
            closing_checkpoint(self._engine, self._signer, batch.project["id"])
        return written
