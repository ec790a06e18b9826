"""Persistence: the audit store, the read models, organisations and users (SQLModel)."""

from store.audit import ChainConflict, event_record, iter_events, record_batch
from store.db import create_schema, make_engine, session

__all__ = ["ChainConflict", "create_schema", "event_record", "iter_events", "make_engine", "record_batch", "session"]
