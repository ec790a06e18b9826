"""Persistence: the audit store, the read models, organisations and users (SQLModel)."""

from store.audit import ChainConflict, EventFilter, event_record, iter_events, record_batch
from store.db import make_engine, session
from store.migrate import SchemaOutdated, check_schema, upgrade

__all__ = [
    "ChainConflict", "EventFilter", "SchemaOutdated", "check_schema", "event_record", "iter_events",
    "make_engine", "record_batch", "session", "upgrade",
]
