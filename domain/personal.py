"""Personal data as the domain sees it: a sealed value is an opaque token.

The application layer validates a personal field's value (type, required, bounds), then seals it
with the data key of its subject (``services/sealing.py``); only the token reaches Temporal, the
events and the store. The domain checks that a sealed project's personal values are tokens — a
value in clear would be a leak —, counts them, and forgets them when the data is erased.
"""

from __future__ import annotations

import re
from typing import Any

from domain.durations import parse_duration
from domain.model import ProjectState, format_time, parse_time
from domain.template import Step

SEALED_PREFIX = "sealed:v1:"
# base64url of nonce ‖ ciphertext ‖ tag: a text field of 20,000 four-byte characters seals to about 107,000
_TOKEN = re.compile(r"sealed:v1:[A-Za-z0-9_-]{38,300000}")


def is_sealed(value: Any) -> bool:
    """Whether ``value`` is a sealed value's token (``sealed:v1:`` and base64url)."""
    return isinstance(value, str) and _TOKEN.fullmatch(value) is not None


def sealed_values(step: Step, form: dict[str, Any]) -> tuple[int, int]:
    """How many personal values a completion's form holds: (values, documents)."""
    values = documents = 0
    for field in step.form:
        if field.personal and form.get(field.name) is not None:
            if field.type == "file":
                documents += 1
            else:
                values += 1
    return values, documents


def erased(step: Step, data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A task's data with its personal values erased (``None``), and the names of those fields."""
    gone = sorted(f.name for f in step.form if f.personal and data.get(f.name) is not None)
    return ({**data, **dict.fromkeys(gone)} if gone else data), gone


RETENTION_REASON = "retention period ended"  # the system's reason, shown translated on the pages


def retention_ends(state: ProjectState) -> str | None:
    """When an ended project's personal data is to be erased: its template's retention after it ended, or
    None (kept until a coordinator erases it, or already erased, or nothing to erase)."""
    template = state.template
    if (template is None or template.retention is None or not state.sealed or state.erasure is not None
            or state.ended_at is None):
        return None
    return format_time(parse_duration(template.retention).after(parse_time(state.ended_at)))
