"""The activity that writes events and read models to the store."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import RECORD_EVENTS, STORE_REFUSED, RecordEvents
from domain import format_time
from store import ChainConflict, is_unavailable, record_batch, record_incident

log = structlog.get_logger("coopflow.activities")


class AuditActivities:
    """Store activities; registered as bound methods so they share the engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name=RECORD_EVENTS)
    def record_events(self, batch: RecordEvents) -> int:
        """Append the batch idempotently; returns how many events were new to the store.

        A store that is away raises as it is, and Temporal retries with back-off until it is
        back. A write that can never succeed (a different event already at a seq, data the
        database refuses, a bug) is recorded as an incident and fails without retries: the
        workflow then waits for an operator instead of retrying for ever.
        """
        try:
            return record_batch(self._engine, project=batch.project, events=batch.events, tasks=batch.tasks,
                                resolves_incident=batch.resolves_incident)
        except Exception as error:
            if is_unavailable(error):
                raise
            reason = str(error) if isinstance(error, ChainConflict) else f"{type(error).__name__}: {error}"
            reason = reason[:2000]
            project_id, seq = batch.project["id"], batch.events[0].seq if batch.events else 0
            log.error("the store refused a project's events; the project waits for an operator",
                      project_id=project_id, seq=seq, reason=reason)
            try:
                record_incident(self._engine, project_id=project_id, seq=seq, since=format_time(datetime.now(UTC)),
                                reason=reason)
            except Exception:
                log.exception("the incident could not be recorded in the store either", project_id=project_id)
            raise ApplicationError(reason, type=STORE_REFUSED, non_retryable=True) from None
