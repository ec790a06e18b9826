"""Cosignatures (c2sp.org/tlog-cosignature, Ed25519 cosignature/v1), byte for byte against what the spec's
definitions give when computed here by hand with hashlib and cryptography from a fixed key seed."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from evidence.cosignature import Cosigner, WitnessKey, cosigned_message, verify_cosignature
from evidence.notes import NoteError, Signer, open_note, split_note

SEED = bytes(range(32))
NAME = "witness.example.org/w1"
PRIVATE = Ed25519PrivateKey.from_private_bytes(SEED)
PUBLIC = PRIVATE.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
TEXT = "coopflow/demo/p-17\n5\n" + base64.b64encode(hashlib.sha256(b"root").digest()).decode() + "\n"
TIME = 1_700_000_000
TYPE = b"\x04"  # the signature type of timestamped Ed25519 cosignatures


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_the_key_id_and_the_verifier_key_are_the_specs():
    expected_id = hashlib.sha256(NAME.encode() + b"\x0a" + b"\x04" + PUBLIC).digest()[:4]
    cosigner = Cosigner(NAME, PRIVATE)
    assert cosigner.key.id == expected_id
    assert str(cosigner.key) == f"{NAME}+{expected_id.hex()}+{b64(TYPE + PUBLIC)}"
    assert str(cosigner) == f"PRIVATE+KEY+{NAME}+{expected_id.hex()}+{b64(TYPE + SEED)}"
    assert Cosigner.parse(str(cosigner)).key == cosigner.key
    assert WitnessKey.parse(str(cosigner.key)) == cosigner.key
    # the same key as a log's (type 0x01) has another id: the type byte is hashed in
    assert Signer(NAME, PRIVATE).verifier.id == hashlib.sha256(NAME.encode() + b"\n\x01" + PUBLIC).digest()[:4]
    assert Signer(NAME, PRIVATE).verifier.id != expected_id


def test_the_signed_message_and_the_line_byte_for_byte():
    message = (b"cosignature/v1\n" + b"time 1700000000\n" + b"coopflow/demo/p-17\n" + b"5\n"
               + TEXT.split("\n")[2].encode() + b"\n")
    assert cosigned_message(TEXT, TIME) == message
    signature = PRIVATE.sign(message)  # Ed25519 is deterministic: this is the very signature
    key_id = hashlib.sha256(NAME.encode() + b"\n\x04" + PUBLIC).digest()[:4]
    expected = f"— {NAME} {b64(key_id + TIME.to_bytes(8, 'big') + signature)}\n"
    line = Cosigner(NAME, PRIVATE).cosign(TEXT, TIME).line()
    assert line == expected
    blob = base64.b64decode(line.split(" ")[2])
    assert (len(blob), blob[:4], int.from_bytes(blob[4:12], "big")) == (76, key_id, TIME)
    Ed25519PublicKey.from_public_bytes(PUBLIC).verify(blob[12:], message)  # raises if it does not hold


def test_a_cosigned_note_verifies_and_says_when():
    log = Signer.generate("coopflow/demo")
    note = log.sign(TEXT) + Cosigner(NAME, PRIVATE).cosign(TEXT, TIME).line()
    key = Cosigner(NAME, PRIVATE).key
    assert verify_cosignature(note, key) == TIME
    assert verify_cosignature(note, str(key)) == TIME


def test_extension_lines_are_signed_too():
    text = TEXT + "extension: a line of the log's own\n"
    message = f"cosignature/v1\ntime {TIME}\n{text}".encode()
    assert cosigned_message(text, TIME) == message
    line = Cosigner(NAME, PRIVATE).cosign(text, TIME).line()
    assert verify_cosignature(f"{text}\n{line}", str(Cosigner(NAME, PRIVATE).key)) == TIME
    with pytest.raises(NoteError, match="does not hold"):
        verify_cosignature(f"{text.replace('own', 'owN')}\n{line}", Cosigner(NAME, PRIVATE).key)


def test_what_does_not_hold_is_refused():
    key = Cosigner(NAME, PRIVATE).key
    line = Cosigner(NAME, PRIVATE).cosign(TEXT, TIME).line()
    blob = bytearray(base64.b64decode(line.split(" ")[2]))
    later = blob[:4] + (TIME + 1).to_bytes(8, "big") + blob[12:]  # another time, the same signature
    with pytest.raises(NoteError, match="does not hold"):
        verify_cosignature(f"{TEXT}\n— {NAME} {b64(bytes(later))}\n", key)
    with pytest.raises(NoteError, match="does not hold"):
        verify_cosignature(f"{TEXT.replace('5', '6')}\n{line}", key)
    other = Cosigner.generate(NAME)  # same name, other key: its line is ignored, so none by this key
    with pytest.raises(NoteError, match="no cosignature by the witness"):
        verify_cosignature(f"{TEXT}\n{other.cosign(TEXT, TIME).line()}", key)
    log_line = Signer(NAME, PRIVATE).sign(TEXT).split("\n\n")[1]  # a plain note signature by the same key
    with pytest.raises(NoteError, match="no cosignature by the witness"):
        verify_cosignature(f"{TEXT}\n{log_line}", key)
    with pytest.raises(NoteError, match="more than once"):
        verify_cosignature(f"{TEXT}\n{line}{line}", key)
    short = b64(bytes(blob[:4 + 8 + 63]))
    with pytest.raises(NoteError, match="72 bytes"):
        verify_cosignature(f"{TEXT}\n— {NAME} {short}\n", key)
    with pytest.raises(NoteError, match="not of the kind"):
        WitnessKey.parse(str(Signer(NAME, PRIVATE).verifier))  # a log's key (0x01) is not a witness's


def test_the_specs_example_line_frames_a_time_and_a_signature():
    """tlog-cosignature's example: its key is not published, but its time is the one of its message example."""
    note = ("example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
            "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9"
            "nTo+zyWE+xeMcTOAYQ8=\n"
            "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZ"
            "qhf5nNo0xUe+mbIUBkBIfZ+qnA==\n")
    _, signatures = split_note(note)
    witness = signatures[1]
    assert (witness.name, witness.key_id.hex(), len(witness.signature)) == ("witness.example.com/w1", "8d66cf3f", 72)
    assert int.from_bytes(witness.signature[:8], "big") == 1679315147


def test_a_notes_form_is_checked_before_any_signature():
    log = Signer.generate("coopflow/demo")
    note = log.sign(TEXT)
    line = note.split("\n\n")[1]
    with pytest.raises(NoteError, match="more than once"):  # as golang.org/x/mod/sumdb/note: malformed
        open_note(note + line, log.verifier)
    strangers = [Signer.generate(f"other/{i}").sign(TEXT).split("\n\n")[1] for i in range(100)]
    with pytest.raises(NoteError, match="more than 100"):
        split_note(note + "".join(strangers))
    assert len(split_note(note + "".join(strangers[1:]))[1]) == 100
    with pytest.raises(NoteError, match="not a signature line"):  # a name holds no '+'
        split_note(note + "— a+b " + line.split(" ")[2])
    with pytest.raises(NoteError, match="not a signature line"):  # U+2028 does not end a line
        split_note(note[:-1] + "\u2028" + line)
