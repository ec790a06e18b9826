"""Activities: every side effect of a workflow happens here."""

from activities.contracts import RECORD_EVENTS, STORE_REFUSED, RecordEvents
from activities.store_writes import StoreWrites

__all__ = ["RECORD_EVENTS", "STORE_REFUSED", "RecordEvents", "StoreWrites"]
