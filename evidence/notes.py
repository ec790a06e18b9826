"""C2SP signed notes with Ed25519 keys (c2sp.org/signed-note), and checkpoints (c2sp.org/tlog-checkpoint).

Keys are written as the Go reference implementation (golang.org/x/mod/sumdb/note) writes them:
the verifier key ``<name>+<hex key id>+<base64(0x01 ‖ public key)>`` and the signer key
``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 ‖ private key seed)>``. The key id is the first
four bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key); a signature line is
``— <name> base64(key id ‖ Ed25519 signature over the note text)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from domain import InvalidRequest

ED25519 = b"\x01"  # the signature type byte of Ed25519 in the signed-note spec
_NAME = re.compile(r"[^\s+]+")
_MAX_NOTE = 64 * 1024
_MAX_SIGNATURES = 100  # the spec asks to accept at least 16; Go's note package stops at 100


class NoteError(InvalidRequest):
    """A note or key that does not hold: malformed, signed by another key, or a signature that fails."""


def key_id(name: str, public_key: bytes, kind: bytes = ED25519) -> bytes:
    """SHA-256(name ‖ 0x0A ‖ signature type ‖ public key)[:4], as the signed-note spec recommends."""
    return hashlib.sha256(name.encode() + b"\n" + kind + public_key).digest()[:4]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"The {what} is not valid base64.") from None


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise NoteError(f"'{name[:80]}' is not a key name: it must be non-empty, without spaces or '+'.")
    return name


def parse_vkey(vkey: str, kind: bytes) -> tuple[str, bytes, bytes]:
    """The name, key id and 32-byte Ed25519 public key of ``<name>+<hex id>+<base64(kind ‖ public key)>``;
    its id must match its name and key."""
    parts = vkey.strip().split("+", 2)  # base64 may hold "+", a name never
    if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
        raise NoteError("A verifier key is written <name>+<8 hex digits>+<base64 key>.")
    name, hex_id, encoded = check_name(parts[0]), parts[1], _unb64(parts[2], "verifier key")
    if len(encoded) != 33 or encoded[:1] != kind:
        raise NoteError(f"The verifier key is not of the kind expected here (type byte 0x{kind.hex()} and a "
                        "32-byte Ed25519 key).")
    if key_id(name, encoded[1:], kind) != bytes.fromhex(hex_id):
        raise NoteError(f"The verifier key's id {hex_id} does not match its name and key.")
    return name, bytes.fromhex(hex_id), encoded[1:]


def parse_skey(skey: str, kind: bytes) -> tuple[str, str, Ed25519PrivateKey]:
    """The name, hex key id (still to be checked against the key) and private key of
    ``PRIVATE+KEY+<name>+<hex id>+<base64(kind ‖ 32-byte seed)>``."""
    parts = skey.strip().split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"] or not re.fullmatch(r"[0-9a-f]{8}", parts[3]):
        raise NoteError("A signing key is written PRIVATE+KEY+<name>+<8 hex digits>+<base64 key>.")
    name, encoded = check_name(parts[2]), _unb64(parts[4], "signing key")
    if len(encoded) != 33 or encoded[:1] != kind:
        raise NoteError(f"The signing key is not of the kind expected here (type byte 0x{kind.hex()} and a "
                        "32-byte Ed25519 seed).")
    return name, parts[3], Ed25519PrivateKey.from_private_bytes(encoded[1:])


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def raw_seed(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())


@dataclass(frozen=True)
class Verifier:
    name: str
    id: bytes
    public_key: Ed25519PublicKey

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        """A verifier key ``<name>+<hex id>+<base64(0x01 ‖ public key)>``; its id must match the key."""
        name, id_, public = parse_vkey(vkey, ED25519)
        return cls(name, id_, Ed25519PublicKey.from_public_bytes(public))

    def __str__(self) -> str:
        return f"{self.name}+{self.id.hex()}+{_b64(ED25519 + raw_public(self.public_key))}"


@dataclass(frozen=True)
class Signer:
    name: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> Signer:
        return cls(check_name(name), Ed25519PrivateKey.generate())

    @classmethod
    def parse(cls, skey: str) -> Signer:
        """A signer key ``PRIVATE+KEY+<name>+<hex id>+<base64(0x01 ‖ 32-byte seed)>``."""
        name, hex_id, private_key = parse_skey(skey, ED25519)
        signer = cls(name, private_key)
        if signer.verifier.id.hex() != hex_id:
            raise NoteError(f"The signing key's id {hex_id} does not match its name and key.")
        return signer

    @property
    def public_bytes(self) -> bytes:
        return raw_public(self.private_key.public_key())

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, key_id(self.name, self.public_bytes), self.private_key.public_key())

    def __str__(self) -> str:
        return f"PRIVATE+KEY+{self.name}+{self.verifier.id.hex()}+{_b64(ED25519 + raw_seed(self.private_key))}"

    def sign(self, text: str) -> str:
        """The signed note: the text (ending in a newline), a blank line, one signature line."""
        check_text(text)
        signature = self.private_key.sign(text.encode("utf-8"))
        return f"{text}\n— {self.name} {_b64(self.verifier.id + signature)}\n"


_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")  # control characters other than newline


def check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("A note's text must end with a newline.")
    if _CONTROL.search(text):
        raise NoteError("A note must not contain control characters other than newline.")


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a note, not yet verified: the key name, the key id and what follows it."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"— {self.name} {_b64(self.key_id + self.signature)}\n"


def split_note(note: str) -> tuple[str, list[NoteSignature]]:
    """The note's text and its signature lines, nothing verified yet; a note that is not of the signed-note
    form (too large, control characters, no blank line, a line that is not a signature) raises."""
    if len(note) > _MAX_NOTE:
        raise NoteError("The note is too large.")
    check_text(note)
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("The note has no signatures (no blank line before them).")
    text, rest = note[:split + 1], note[split + 2:]
    if not rest:
        raise NoteError("The note has no signature lines.")
    lines = rest[:-1].split("\n")  # only U+000A ends a line: not the other breaks str.splitlines knows
    if len(lines) > _MAX_SIGNATURES:
        raise NoteError(f"The note has more than {_MAX_SIGNATURES} signatures.")
    signatures = []
    for line in lines:
        match = re.fullmatch(r"— ([^\s+]+) (\S+)", line)
        if match is None:
            raise NoteError(f"'{line[:80]}' is not a signature line (— <key name> <base64 signature>).")
        blob = _unb64(match.group(2), "signature")
        if len(blob) < 5:
            raise NoteError(f"The signature by {match.group(1)} is too short: a 4-byte key id and a signature.")
        signatures.append(NoteSignature(match.group(1), blob[:4], blob[4:]))
    return text, signatures


def check_signed(text: str, signatures: list[NoteSignature], verifier: Verifier) -> list[NoteSignature]:
    """The signatures by ``verifier``, once each of them holds over ``text``; signatures by other keys are
    ignored (as the spec says); a failing or repeated one by this key refuses the whole note, as Go's does."""
    known = [s for s in signatures if s.name == verifier.name and s.key_id == verifier.id]
    if len(known) > 1:
        raise NoteError(f"The note carries the key {verifier.name} more than once.")
    for signature in known:
        try:
            verifier.public_key.verify(signature.signature, text.encode("utf-8"))
        except InvalidSignature:
            raise NoteError(f"The signature by {verifier.name} does not hold: the note was changed "
                            "or signed by another key.") from None
    if not known:
        raise NoteError(f"The note carries no signature by the key {verifier.name}+{verifier.id.hex()}.")
    return known


def open_note(note: str, verifier: Verifier) -> str:
    """The note's text once a signature by ``verifier`` holds; signatures by other keys are ignored."""
    text, signatures = split_note(note)
    check_signed(text, signatures, verifier)
    return text


@dataclass(frozen=True)
class Checkpoint:
    """A tlog-checkpoint's text: origin, tree size, base64 root hash."""

    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{_b64(self.root)}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or not all(lines[:-1]):
            raise NoteError("A checkpoint's text is three non-empty lines: origin, tree size, root hash.")
        if not re.fullmatch(r"0|[1-9][0-9]{0,18}", lines[1]):
            raise NoteError(f"'{lines[1][:40]}' is not a tree size (a decimal number without leading zeroes).")
        root = _unb64(lines[2], "root hash")
        if len(root) != 32:
            raise NoteError("The checkpoint's root hash is not 32 bytes.")
        return cls(lines[0], int(lines[1]), root)


def open_checkpoint(note: str, verifier: Verifier) -> Checkpoint:
    """A checkpoint from a signed note, once its signature by ``verifier`` holds."""
    return Checkpoint.parse(open_note(note, verifier))
