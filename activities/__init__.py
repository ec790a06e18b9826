"""Activities: every side effect of a workflow happens here."""

from activities.audit import AuditActivities
from activities.contracts import RECORD_EVENTS, STORE_REFUSED, RecordEvents

__all__ = ["RECORD_EVENTS", "STORE_REFUSED", "AuditActivities", "RecordEvents"]
