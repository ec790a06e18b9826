"""The published examples of the specs coopflow's checkpoints follow, byte for byte.

RFC 6962's tree heads and audit paths: the Certificate Transparency reference leaves (as in
transparency-dev/merkle's test data). Signed notes: the example key and note of the Go reference
implementation, golang.org/x/mod/sumdb/note.
"""

from __future__ import annotations

import pytest

from domain.merkle import inclusion_proof, leaf_hash, tree_head, verify_inclusion
from evidence.notes import Checkpoint, NoteError, Signer, Verifier, open_checkpoint, open_note

LEAVES = [bytes.fromhex(x) for x in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                      "606162636465666768696a6b6c6d6e6f")]
HEADS = ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
         "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
         "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
         "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
         "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
         "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
         "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
         "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"]
PATHS = {(0, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                  "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                  "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
         (5, 8): ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                  "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
         (2, 3): ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
         (1, 5): ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                  "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                  "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]}

GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_NOTE = GO_TEXT + ("\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdng"
                     "otpRZb6KE6RyyBwJnAM=\n")


def test_tree_heads_match_rfc_6962() -> None:
    hashes = [leaf_hash(x) for x in LEAVES]
    assert [tree_head(hashes[:n]).hex() for n in range(9)] == HEADS


@pytest.mark.parametrize(("index", "size"), sorted(PATHS))
def test_audit_paths_match_rfc_6962(index: int, size: int) -> None:
    hashes = [leaf_hash(x) for x in LEAVES[:size]]
    proof = inclusion_proof(hashes, index)
    assert [p.hex() for p in proof] == PATHS[(index, size)]
    head = bytes.fromhex(HEADS[size])
    assert verify_inclusion(hashes[index], index, size, proof, head)
    assert not verify_inclusion(hashes[index], index ^ 1, size, proof, head)
    assert not verify_inclusion(leaf_hash(b"changed"), index, size, proof, head)
    assert not verify_inclusion(hashes[index], index, size, proof[:-1], head)


def test_every_proof_of_every_tree_size_verifies() -> None:
    for size in range(1, 34):
        hashes = [leaf_hash(bytes([i])) for i in range(size)]
        head = tree_head(hashes)
        for index in range(size):
            assert verify_inclusion(hashes[index], index, size, inclusion_proof(hashes, index), head)


def test_the_go_reference_key_and_note_byte_for_byte() -> None:
    signer = Signer.parse(GO_SKEY)
    assert str(signer) == GO_SKEY
    assert str(signer.verifier) == GO_VKEY
    assert signer.verifier.id.hex() == "c74f20a3"
    assert signer.sign(GO_TEXT) == GO_NOTE  # Ed25519 is deterministic: the very signature of the example
    assert open_note(GO_NOTE, Verifier.parse(GO_VKEY)) == GO_TEXT


def test_a_changed_note_or_another_key_is_refused() -> None:
    verifier = Verifier.parse(GO_VKEY)
    with pytest.raises(NoteError, match="does not hold"):
        open_note(GO_NOTE.replace("cryptography", "cryptographY"), verifier)
    with pytest.raises(NoteError, match="no signature by the key"):
        open_note(GO_NOTE, Signer.generate("PeterNeumann").verifier)
    with pytest.raises(NoteError, match="does not match"):
        Verifier.parse(GO_VKEY.replace("c74f20a3", "c74f20a4"))


def test_a_checkpoint_note_round_trips() -> None:
    signer = Signer.generate("coopflow/example.org")
    checkpoint = Checkpoint("coopflow/example.org/abc123", 8, bytes.fromhex(HEADS[8]))
    note = signer.sign(checkpoint.text())
    assert note.startswith("coopflow/example.org/abc123\n8\nXcnaeacGWamtVZy3Ad7Zoqudgjqt L0lgz+Nw7/RgQyg=\n\n— "
                           .replace(" ", ""))
    assert open_checkpoint(note, signer.verifier) == checkpoint
    with pytest.raises(NoteError, match="tree size"):
        Checkpoint.parse("origin\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n")
