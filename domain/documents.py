"""Documents in the chain: the shape of a ``file`` field's value, the types taken, safe file names."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

# what coopflow takes, each recognised by its content (see services/document_types.py)
MEDIA_TYPES = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "text/plain": ".txt",
    "text/csv": ".csv",
}
SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_NAME_CHARS = 200
DOCUMENT_KEYS = ("sha256", "name", "size", "media_type")


def safe_name(name: str) -> str:
    """A file name that is safe to store and to offer for download: no folders, no control or
    invisible characters, no leading dot, at most 200 characters (the extension kept)."""
    name = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(c if c.isalnum() or c in " ._-()+,&" else "_" for c in name
                   if unicodedata.category(c)[0] != "C")
    name = re.sub(r"\s+", " ", name).strip(" .")
    if len(name) > MAX_NAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:MAX_NAME_CHARS - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else name[:MAX_NAME_CHARS]
    return name or "document"


def document_value(value: Any) -> dict[str, Any]:
    """A ``file`` field's value as the event keeps it: ``{sha256, name, size, media_type}``."""
    if not isinstance(value, Mapping) or set(value) != set(DOCUMENT_KEYS):
        raise ValueError("must name an uploaded document ({sha256, name, size, media_type})")
    sha256, name, size, media_type = (value[k] for k in DOCUMENT_KEYS)
    if not isinstance(sha256, str) or not SHA256.fullmatch(sha256):
        raise ValueError("must name a document by its sha256 (64 hex digits)")
    if not isinstance(name, str) or not name or safe_name(name) != name:
        raise ValueError("must have a plain file name")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ValueError("must have a size in bytes")
    if media_type not in MEDIA_TYPES:
        raise ValueError(f"must be one of the document types taken ({', '.join(sorted(MEDIA_TYPES.values()))})")
    return {"sha256": sha256, "name": name, "size": size, "media_type": media_type}
