"""What workflows may know of activities: their names and argument models (no I/O here)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from domain import Event

RECORD_EVENTS = "record_events"
# The error type of a write that retrying cannot cure: the workflow opens an incident instead.
STORE_REFUSED = "StoreRefused"


class RecordEvents(BaseModel):
    """A batch of new events with the project summary and the tasks those events touched."""

    project: dict[str, Any]
    events: list[Event]
    tasks: list[dict[str, Any]]
    resolves_incident: bool = False

CHECKPOINT_PROJECTS = "checkpoint_active_projects"
SUBMIT_TO_WITNESSES = "submit_to_witnesses"
SEND_DIGESTS = "send_digests"
