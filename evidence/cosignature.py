"""Witness cosignatures of checkpoints (c2sp.org/tlog-cosignature, the Ed25519 type ``cosignature/v1``).

A witness's key is an Ed25519 key of signature type 0x04: its key id is SHA-256(name ‖ 0x0A ‖ 0x04 ‖
public key)[:4], its verifier key ``<name>+<hex id>+base64(0x04 ‖ public key)``. At time t it signs
``cosignature/v1\\ntime <t>\\n`` followed by the whole note text (extension lines included), and adds the line
``— <name> base64(key id ‖ t as 8 bytes big-endian ‖ Ed25519 signature)``. Since the message does not
name the witness, one key must never serve two witness names. Keys are written as ``evidence.notes``
writes the log's, with 0x04 where the log's key has 0x01.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from evidence.notes import (
    NoteError,
    NoteSignature,
    check_name,
    check_text,
    key_id,
    parse_skey,
    parse_vkey,
    raw_public,
    raw_seed,
    split_note,
)

COSIGNATURE_V1 = b"\x04"  # the signature type byte of timestamped Ed25519 cosignatures
MAX_TIME = 2**63 - 1  # the spec's bound on the timestamp


def cosigned_message(text: str, timestamp: int) -> bytes:
    """The bytes a witness signs: the header line, the time line, then the note text as it is."""
    if not 0 <= timestamp <= MAX_TIME:
        raise NoteError(f"A cosignature's time must lie between 0 and 2^63-1, not {timestamp}.")
    check_text(text)
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


@dataclass(frozen=True)
class WitnessKey:
    """A witness's verifier key: what the log and the auditors are given to check its cosignatures."""

    name: str
    id: bytes
    public_key: Ed25519PublicKey

    @classmethod
    def parse(cls, vkey: str) -> WitnessKey:
        """``<name>+<hex id>+base64(0x04 ‖ public key)``; its id must match its name and key."""
        name, id_, public = parse_vkey(vkey, COSIGNATURE_V1)
        return cls(name, id_, Ed25519PublicKey.from_public_bytes(public))

    def __str__(self) -> str:
        encoded = base64.b64encode(COSIGNATURE_V1 + raw_public(self.public_key)).decode("ascii")
        return f"{self.name}+{self.id.hex()}+{encoded}"


@dataclass(frozen=True)
class Cosigner:
    """A witness's signing key."""

    name: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> Cosigner:
        return cls(check_name(name), Ed25519PrivateKey.generate())

    @classmethod
    def parse(cls, skey: str) -> Cosigner:
        """``PRIVATE+KEY+<name>+<hex id>+base64(0x04 ‖ 32-byte seed)``."""
        name, hex_id, private_key = parse_skey(skey, COSIGNATURE_V1)
        cosigner = cls(name, private_key)
        if cosigner.key.id.hex() != hex_id:
            raise NoteError(f"The witness key's id {hex_id} does not match its name and key.")
        return cosigner

    @property
    def key(self) -> WitnessKey:
        public = self.private_key.public_key()
        return WitnessKey(self.name, key_id(self.name, raw_public(public), COSIGNATURE_V1), public)

    def __str__(self) -> str:
        encoded = base64.b64encode(COSIGNATURE_V1 + raw_seed(self.private_key)).decode("ascii")
        return f"PRIVATE+KEY+{self.name}+{self.key.id.hex()}+{encoded}"

    def cosign(self, text: str, timestamp: int) -> NoteSignature:
        """The cosignature of a note text at ``timestamp`` (seconds since the epoch)."""
        signature = self.private_key.sign(cosigned_message(text, timestamp))
        return NoteSignature(self.name, self.key.id, timestamp.to_bytes(8, "big") + signature)


def check_cosigned(text: str, signatures: list[NoteSignature], key: WitnessKey) -> int:
    """The time of the cosignature by ``key`` among a note's signatures, once it holds over ``text``.
    Other keys' lines are ignored; none by this key, a repeated one, or one that fails raises."""
    known = [s for s in signatures if s.name == key.name and s.key_id == key.id]
    if not known:
        raise NoteError(f"The checkpoint carries no cosignature by the witness {key.name}+{key.id.hex()}.")
    if len(known) > 1:
        raise NoteError(f"The checkpoint carries the witness {key.name} more than once.")
    blob = known[0].signature
    if len(blob) != 8 + 64:
        raise NoteError(f"The cosignature by {key.name} is not a time and an Ed25519 signature (72 bytes).")
    timestamp = int.from_bytes(blob[:8], "big")
    try:
        key.public_key.verify(blob[8:], cosigned_message(text, timestamp))
    except InvalidSignature:
        raise NoteError(f"The cosignature by {key.name} does not hold: the checkpoint was changed, "
                        "or another key signed it.") from None
    return timestamp


def verify_cosignature(note: str, key: WitnessKey | str) -> int:
    """The time (seconds since the epoch) at which the witness of ``key`` cosigned this checkpoint note;
    raises ``NoteError`` when it did not, or when its cosignature does not hold. The log's own signature is
    not checked here: ``evidence.notes.open_checkpoint`` does that."""
    text, signatures = split_note(note)
    return check_cosigned(text, signatures, key if isinstance(key, WitnessKey) else WitnessKey.parse(key))
