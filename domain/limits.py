"""How much a person may put into one command, and which characters are refused.

Temporal refuses a payload over 2 MB and a gRPC message over 4 MB, and a workflow task that
it refuses is retried for ever. A completion appears in a project's history about four times
(the update's argument, the events written, the task's view written, the update's result),
and up to ten updates of one workflow may be in flight at once; so one completion is kept to
``MAX_COMPLETION_BYTES`` and every other field to a size far below those limits. Documents
belong in files (their hash goes into the event), not in text fields.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

MAX_TEXT_CHARS = 20_000  # one text field: about eight pages
MAX_LIST_ITEMS = 100
MAX_LIST_ITEM_CHARS = 1_000
MAX_COMMENT_CHARS = 5_000
MAX_TITLE_CHARS = 300
MAX_KEY_CHARS = 200  # an idempotency key
MAX_PARTNERS = 50
MAX_COMPLETION_BYTES = 64 * 1024  # a completion's data, outcome and comment as canonical JSON

# C0 controls but tab, line feed and carriage return; DEL. PostgreSQL cannot store NUL at all.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def text_problem(value: str, max_chars: int) -> str | None:
    """Why ``value`` cannot be stored as text, or None: too long, a control character, a lone surrogate."""
    if len(value) > max_chars:
        return f"is too long: at most {max_chars} characters (this has {len(value)})"
    if _CONTROL.search(value):
        return "must not contain control characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must not contain unpaired surrogate characters"
    return None


def line_problem(value: str) -> str | None:
    """Why ``value`` cannot be one line (a title, which goes into the subject of every mail about it), or None.

    A mail header cannot hold what ends a line: not only CR and LF but every character ``str.splitlines``
    splits at (VT, FF, the file separators, NEL, U+2028, U+2029); tabs and other controls have no place
    in a title either."""
    if any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in value):
        return "must be one line: no line breaks, separators or control characters"
    return None


def shown(value: object, limit: int = 60) -> str:
    """``value`` as it may appear in a message: at most ``limit`` characters, control characters
    and unpaired surrogates replaced (a message must always be printable and encodable)."""
    text = value if isinstance(value, str) else repr(value)
    text = _CONTROL.sub("\N{REPLACEMENT CHARACTER}", text[:limit]) + ("…" if len(text) > limit else "")
    return printable(text)


def printable(text: str) -> str:
    """``text`` with unpaired surrogates (which no encoder takes) replaced by U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def json_size(value: Any) -> int:
    """The size in bytes of ``value`` written as compact JSON (an upper bound of what is stored)."""
    import json

    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8",
                                                                                              "surrogatepass"))
