"""What a document is, by its content: the types coopflow takes, recognised by their bytes (magic numbers
and the members of an office zip), never by the name a person gave the file."""

from __future__ import annotations

import codecs
import re
import struct
import zipfile
from pathlib import Path
from zlib import error as zlib_error

from domain import InvalidData
from domain.documents import MEDIA_TYPES, safe_name
from domain.errors import UnsupportedMediaType
from domain.limits import shown

ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"
_KINDS = {"application/pdf": "a PDF", "image/png": "a PNG image", "image/jpeg": "a JPEG image",
          "application/vnd.oasis.opendocument.text": "an ODT text",
          "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "a DOCX document",
          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "an XLSX spreadsheet",
          "text/plain": "plain text", "text/csv": "CSV text"}
_TEXT_CONTROLS = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f]")  # control characters but tab, line and page breaks
TEXT_BLOCK = 64 * 1024  # bytes of a text checked at a time
# An office document is a zip: it is recognised by its members' names and by reading at most a few bytes of
# one of them, never by inflating a member whole (a zip of 300 KB can inflate to 300 MB). Refused before
# anything is read: more members than a document has (their directory alone takes memory), a member that
# inflates far more than documents do (5 to 30 times; a zip bomb's a thousand times).
MAX_MEMBERS = 10_000
MAX_RATIO = 200
_RATIO_FROM = 1024 * 1024  # a member smaller than this inflates to little, whatever its ratio
_UNPACKS = "a compressed archive that unpacks to far more than its size"




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
        return _office(path, name)
    if _is_text(path):
        return "text/csv" if name.lower().endswith(".csv") else "text/plain"
    return None


def _office(path: Path, name: str) -> str | None:
    try:
        _check_members(path, name)
        with zipfile.ZipFile(path) as z:
            _check_ratios(z, name)
            names = set(z.namelist())
            if "mimetype" in names and _odt(z):
                return "application/vnd.oasis.opendocument.text"
            if "[Content_Types].xml" in names:
                if "word/document.xml" in names:
                    return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
                if "xl/workbook.xml" in names:
                    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, NotImplementedError, EOFError, zlib_error):
        return None
    return None


def _check_members(path: Path, name: str) -> None:
    """Refused when the zip's end record declares more members than a document has, before its
    directory is read (a member's entry takes some 500 bytes in memory for its 50 in the file)."""
    with path.open("rb") as f:
        size = f.seek(0, 2)
        f.seek(max(0, size - 22 - 0xFFFF))  # the end record: 22 bytes and a comment of at most 64 KB
        tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return  # no end record: zipfile refuses it
    (members,) = struct.unpack("<H", tail[at + 10:at + 12])
    if members > MAX_MEMBERS:
        raise UnsupportedMediaType(
            f"{shown(name)} is a zip of {members} members; an office document has at most {MAX_MEMBERS}. Upload "
            "the document itself (PDF, ODT, DOCX, XLSX), not an archive.", {"file": "a zip of too many members"})


def _check_ratios(z: zipfile.ZipFile, name: str) -> None:
    """Refused when a member would inflate far more than a document's do (from its declared sizes)."""
    for info in z.infolist():
        if info.file_size > _RATIO_FROM and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise UnsupportedMediaType(
                f"{shown(name)} is {_UNPACKS}: {info.file_size // 2**20} MB from "
                f"{max(info.compress_size // 1024, 1)} KB in one member. Upload the document itself, saved again "
                "by its program.", {"file": _UNPACKS})


def _odt(z: zipfile.ZipFile) -> bool:
    """An ODT's ``mimetype`` member names its type: read no more than that name's length (and some space)."""
    with z.open("mimetype") as member:
        return member.read(len(ODT_MIMETYPE) + 16).strip() == ODT_MIMETYPE


def _is_text(path: Path) -> bool:
    """UTF-8 text without control characters (tabs, line and page breaks allowed): a block at a time, each
    checked at C speed, so that a large text costs neither its size in memory nor seconds of a process."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as f:
            while block := f.read(TEXT_BLOCK):
                if _TEXT_CONTROLS.search(block):
                    return False
                decoder.decode(block)
            decoder.decode(b"", final=True)
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
