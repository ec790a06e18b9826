"""The activity that writes events and read models to the store."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from temporalio import activity

from activities.contracts import RECORD_EVENTS, RecordEvents
from store import record_batch


class AuditActivities:
    """Store activities; registered as bound methods so they share the engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name=RECORD_EVENTS)
    def record_events(self, batch: RecordEvents) -> int:
        """Append the batch idempotently; returns how many events were new to the store."""
        return record_batch(self._engine, project=batch.project, events=batch.events, tasks=batch.tasks)
