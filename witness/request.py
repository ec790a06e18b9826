"""The body of a tlog-witness ``add-checkpoint`` request (c2sp.org/tlog-witness), written and read.

    old <size>\\n
    <base64 hash>\\n        (zero to 63 lines: the RFC 6962 consistency proof from <size>)
    \\n
    <signed checkpoint note>

Both sides use this module: the witness reads, coopflow writes. Reading is strict (canonical decimals,
canonical base64 of 32 bytes, every line ending in U+000A): a body the spec does not allow is refused
before anything is looked up.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass

from evidence.notes import Checkpoint, NoteError, NoteSignature, split_note

MAX_PROOF_LINES = 63
MAX_SIZE = 2**63 - 1  # tree sizes are u64 in the specs; SQLite's integers stop here
MAX_BODY = 128 * 1024  # the note's own limit (64 KiB, 16 post-quantum signatures fit) and the proof lines
_OLD = re.compile(r"old (0|[1-9][0-9]{0,18})")


class Malformed(ValueError):
    """A body that is not an add-checkpoint request: answered 400."""


@dataclass(frozen=True)
class AddCheckpoint:
    old_size: int
    proof: list[bytes]
    checkpoint: Checkpoint
    text: str  # the note text as signed, extension lines included
    signatures: list[NoteSignature]


def format_add_checkpoint(old_size: int, proof: Sequence[bytes], note: str) -> bytes:
    """The request body that asks a witness to cosign ``note``, which grows the tree of ``old_size``."""
    lines = [f"old {old_size}", *(base64.b64encode(h).decode("ascii") for h in proof)]
    return ("\n".join(lines) + "\n\n" + note).encode("utf-8")


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """The request in ``body``; raises ``Malformed`` saying what is wrong."""
    if len(body) > MAX_BODY:
        raise Malformed(f"The request is larger than {MAX_BODY} bytes.")
    try:
        rest = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("The request is not UTF-8.") from None
    first, newline, rest = rest.partition("\n")
    match = _OLD.fullmatch(first)
    if not newline or match is None or int(match.group(1)) > MAX_SIZE:
        raise Malformed("The first line must be 'old <size>': a decimal without leading zeroes, then a newline.")
    proof: list[bytes] = []
    while True:
        line, newline, rest = rest.partition("\n")
        if not newline:
            raise Malformed("The proof lines must end with a blank line before the checkpoint.")
        if not line:
            break
        if len(proof) == MAX_PROOF_LINES:
            raise Malformed(f"A consistency proof has at most {MAX_PROOF_LINES} lines.")
        proof.append(_hash(line))
    try:
        text, signatures = split_note(rest)
        checkpoint = Checkpoint.parse(text)
    except NoteError as error:
        raise Malformed(error.message) from None
    if checkpoint.size > MAX_SIZE:
        raise Malformed(f"A tree size is at most {MAX_SIZE}.")
    return AddCheckpoint(int(match.group(1)), proof, checkpoint, text, signatures)


def _hash(line: str) -> bytes:
    """A proof line: the canonical base64 of 32 bytes."""
    try:
        value = base64.b64decode(line, validate=True)
    except (binascii.Error, ValueError):
        value = b""
    if len(value) != 32 or base64.b64encode(value).decode("ascii") != line:
        raise Malformed(f"'{line[:60]}' is not a proof line (the base64 of a 32-byte hash).")
    return value
