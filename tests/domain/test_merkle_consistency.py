"""RFC 6962 consistency proofs: the reference vectors of the CT implementations (the eight classic leaves),
and every pair of sizes up to 64, against the tree heads computed independently."""

from __future__ import annotations

import hashlib

import pytest

from domain.merkle import consistency_proof, heads_at, leaf_hash, tree_head, verify_consistency
from tests.domain.test_specs import HEADS, LEAVES

# the CT implementations' classic leaves and their heads, as tests/domain/test_specs.py holds them
ROOTS = HEADS[1:]
PROOFS = {
    (1, 1): [],
    (1, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (6, 8): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
    (2, 5): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
}
HASHED = [leaf_hash(leaf) for leaf in LEAVES]


def test_the_reference_roots():
    assert [tree_head(HASHED[:n]).hex() for n in range(1, 9)] == ROOTS
    assert tree_head([]).hex() == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize(("old", "new"), sorted(PROOFS))
def test_the_reference_consistency_proofs(old: int, new: int):
    proof = consistency_proof(HASHED[:new], old)
    assert [p.hex() for p in proof] == PROOFS[(old, new)]
    old_head, new_head = bytes.fromhex(ROOTS[old - 1]), bytes.fromhex(ROOTS[new - 1])
    assert verify_consistency(old, new, old_head, new_head, proof)


def test_every_pair_of_sizes_up_to_64_and_nothing_forged():
    leaves = [leaf_hash(i.to_bytes(2, "big")) for i in range(64)]
    heads = [tree_head(leaves[:n]) for n in range(65)]
    other = [leaf_hash(b"forged" + i.to_bytes(2, "big")) for i in range(64)]
    for new in range(1, 65):
        for old in range(1, new + 1):
            proof = consistency_proof(leaves[:new], old)
            assert verify_consistency(old, new, heads[old], heads[new], proof), (old, new)
            if old == new:
                continue
            # a rewritten history (the first leaf changed) has another old head: the proof fails for it
            forged_old = tree_head([other[0], *leaves[1:old]])
            assert not verify_consistency(old, new, forged_old, heads[new], proof), (old, new)
            assert not verify_consistency(old, new, heads[old], heads[new - 1] if new > 1 else heads[0], proof)
            for i in range(len(proof)):  # any element changed
                bad = [*proof[:i], hashlib.sha256(proof[i]).digest(), *proof[i + 1:]]
                assert not verify_consistency(old, new, heads[old], heads[new], bad), (old, new, i)
            assert not verify_consistency(old, new, heads[old], heads[new], proof[:-1])
            assert not verify_consistency(old, new, heads[old], heads[new], [*proof, heads[0]])
    assert not verify_consistency(5, 3, heads[5], heads[3], [])
    assert verify_consistency(0, 7, heads[0], heads[7], [])


def test_the_heads_at_many_sizes_in_one_pass_are_the_tree_heads():
    leaves = [leaf_hash(i.to_bytes(2, "big")) for i in range(130)]
    assert heads_at(leaves, range(131)) == {n: tree_head(leaves[:n]) for n in range(131)}
    assert [h.hex() for h in heads_at(HASHED, range(1, 9)).values()] == ROOTS
    assert heads_at(leaves, [200]) == {}
