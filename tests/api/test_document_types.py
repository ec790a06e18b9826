"""Recognising a document by its content in bounded memory, whatever its size."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from services.document_types import _is_text


def _peak_while(path: Path) -> tuple[bool, int]:
    tracemalloc.start()
    try:
        found = _is_text(path)
        return found, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_large_text_is_checked_whole_in_bounded_memory(tmp_path: Path):
    """16 MB of text is read a block at a time (the whole file was read, then looped over byte by byte):
    a control character at its very end still makes it no text, and a character split across two
    blocks is still one character."""
    text = tmp_path / "long.txt"
    line = "Übersicht – Ђорђе – Ми ќе – ç\n".encode()
    text.write_bytes(line * (16 * 1024 * 1024 // len(line)))
    found, peak = _peak_while(text)
    print(f"a 16 MB text: {found}, peak {peak // 1024} KB of Python memory")
    assert found is True and peak < 2 * 1024 * 1024
    ending = tmp_path / "ends-in-binary.txt"
    ending.write_bytes(text.read_bytes() + b"\x00")
    assert _is_text(ending) is False
    for offset in range(1, 4):  # a four-byte character across every possible block boundary
        split = tmp_path / f"split{offset}.txt"
        split.write_bytes(b"a" * (64 * 1024 - offset) + "𝄞".encode() + b"\n")
        assert _is_text(split) is True, offset
    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"a" * 100 + "𝄞".encode()[:3])  # a character cut off at the end
    assert _is_text(broken) is False


def test_a_zip_of_more_members_than_a_document_has_is_refused_before_its_directory_is_read(tmp_path: Path):
    import zipfile

    import pytest

    from services.document_types import MAX_MEMBERS, UnsupportedMediaType, checked

    many = tmp_path / "many.docx"
    with zipfile.ZipFile(many, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
        for n in range(MAX_MEMBERS):
            z.writestr(f"word/media/{n}", b"")
    with pytest.raises(UnsupportedMediaType, match=f"a zip of {MAX_MEMBERS + 2} members"):
        checked(many, "many.docx", many.stat().st_size)
