"""Persistence: the audit store, the read models, organisations and users (SQLModel)."""

from store.audit import (
    ChainConflict,
    EventFilter,
    event_record,
    incidents,
    iter_events,
    record_batch,
    record_incident,
)
from store.db import StoreUnavailable, is_unavailable, make_engine, refusal, session
from store.migrate import SchemaOutdated, check_schema, upgrade
from store.template_texts import TemplateText  # registers its table with the models'

__all__ = [
    "ChainConflict", "EventFilter", "SchemaOutdated", "StoreUnavailable", "TemplateText", "check_schema",
    "event_record", "incidents", "is_unavailable", "iter_events", "make_engine", "record_batch", "record_incident",
    "refusal", "session", "upgrade",
]
