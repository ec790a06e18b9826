"""RFC 6962 Merkle trees (§2.1): tree heads and inclusion proofs over a trail's event hashes.

Leaves are the events' ``hash`` values as 32 raw bytes, in seq order. A leaf hashes as
SHA-256(0x00 ‖ leaf), a node as SHA-256(0x01 ‖ left ‖ right); the empty tree's head is
SHA-256 of nothing. A tree of n leaves splits at k, the largest power of two below n.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def tree_head(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle tree hash (MTH) over leaf hashes already computed with ``leaf_hash``."""
    if not leaf_hashes:
        return hashlib.sha256(b"").digest()
    level = list(leaf_hashes)
    while len(level) > 1:  # pairing left to right and carrying an odd last node up is RFC 6962's split
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        level = paired + ([level[-1]] if len(level) % 2 else [])
    return level[0]


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path (RFC 6962 §2.1.1) of leaf ``index`` in the tree of all ``leaf_hashes``."""
    if not 0 <= index < len(leaf_hashes):
        raise ValueError(f"leaf {index} is not in a tree of {len(leaf_hashes)}")
    if len(leaf_hashes) == 1:
        return []
    k = _split(len(leaf_hashes))
    if index < k:
        return [*inclusion_proof(leaf_hashes[:k], index), tree_head(leaf_hashes[k:])]
    return [*inclusion_proof(leaf_hashes[k:], index - k), tree_head(leaf_hashes[:k])]


def root_from_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes | None:
    """The tree head that ``proof`` leads to from a leaf hash (RFC 9162 §2.1.3.2), or None when the
    proof cannot belong to leaf ``index`` of a tree of ``size``."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], head: bytes) -> bool:
    """Whether ``proof`` shows the leaf hash ``leaf`` at ``index`` in the tree of ``size`` with ``head``."""
    return root_from_inclusion(leaf, index, size, proof) == head


def trail_leaves(event_hashes: Sequence[str]) -> list[bytes]:
    """The leaf hashes of a trail: each event's hex ``hash`` as 32 raw bytes, hashed as a leaf."""
    return [leaf_hash(bytes.fromhex(h)) for h in event_hashes]
