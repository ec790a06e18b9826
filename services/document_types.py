"""What a document is, by its content: the types coopflow takes, recognised by their bytes (magic numbers
and the members of an office zip), never by the name a person gave the file."""

from __future__ import annotations

import zipfile
from pathlib import Path

from domain import DomainError, InvalidData
from domain.documents import MEDIA_TYPES, safe_name
from domain.limits import shown

ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"
_KINDS = {"application/pdf": "a PDF", "image/png": "a PNG image", "image/jpeg": "a JPEG image",
          "application/vnd.oasis.opendocument.text": "an ODT text",
          "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "a DOCX document",
          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "an XLSX spreadsheet",
          "text/plain": "plain text", "text/csv": "CSV text"}
_TEXT_CONTROLS = set(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D}


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"


def sniff(path: Path, name: str) -> str | None:
    """The document's type from its content (magic bytes, and the members of an office zip), or None."""
    with path.open("rb") as f:
        head = f.read(4096)
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"PK\x03\x04"):
        return _office(path)
    if _is_text(path):
        return "text/csv" if name.lower().endswith(".csv") else "text/plain"
    return None


def _office(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if "mimetype" in names and z.read("mimetype").strip() == ODT_MIMETYPE:
                return "application/vnd.oasis.opendocument.text"
            if "[Content_Types].xml" in names:
                if "word/document.xml" in names:
                    return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
                if "xl/workbook.xml" in names:
                    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError):
        return None
    return None


def _is_text(path: Path) -> bool:
    """UTF-8 text without control characters (tabs, line and page breaks allowed)."""
    data = path.read_bytes()
    if any(b in _TEXT_CONTROLS for b in data):
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _named(name: str, media_type: str) -> str:
    """The name with its type's extension: added when it has none; a name that claims another type than
    the content has (a PDF named .png, a program named .pdf) is refused."""
    extension = MEDIA_TYPES[media_type]
    aliases = {".jpg": (".jpg", ".jpeg"), ".txt": (".txt", ".text", ".md")}.get(extension, (extension,))
    stem, dot, claimed = name.rpartition(".")
    if not dot or not stem:
        return safe_name(name + extension)
    if f".{claimed.lower()}" not in aliases:
        raise UnsupportedMediaType(
            f"{shown(name)} is named .{shown(claimed, 10)} but its content is {_KINDS[media_type]}: rename it to "
            f"{extension}, or upload the document its name promises.", {"file": "content does not match its name"})
    return name


def checked(staged: Path, filename: str, size: int) -> tuple[str, str]:
    """The document's safe name and its type by content; refused when coopflow does not take it."""
    name = safe_name(filename or "document")
    media_type = sniff(staged, name)
    if media_type is None:
        raise UnsupportedMediaType(
            f"{shown(name)} is not a document coopflow takes: PDF, PNG, JPEG, ODT, DOCX, XLSX, TXT or CSV "
            "(recognised by its content, not its name).", {"file": "unsupported type"})
    if size == 0:
        raise InvalidData("The document is empty.", {"file": "is empty"})
    return _named(name, media_type), media_type
