"""RFC 6962 Merkle trees (§2.1): tree heads, inclusion and consistency proofs over a trail's event hashes.

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


def append_leaf(frontier: list[bytes], size: int, leaf: bytes) -> None:
    """Add the leaf hash of leaf number ``size`` (0-based) to ``frontier``, the roots of the perfect subtrees of
    the first ``size`` leaves, the largest first (in place). A tree of n leaves is its perfect subtrees of the
    powers of two in n, from the largest on the left; a new leaf merges with the subtrees of n's lowest set
    bits, as a binary counter carries. O(log n) hashes are kept, whatever the size."""
    node = leaf
    while size & 1:
        node = node_hash(frontier.pop(), node)
        size >>= 1
    frontier.append(node)


def frontier_head(frontier: Sequence[bytes]) -> bytes:
    """The tree head of the leaves a frontier stands for: its roots folded from the right (RFC 6962's split)."""
    if not frontier:
        return hashlib.sha256(b"").digest()
    head = frontier[-1]
    for root in reversed(frontier[:-1]):
        head = node_hash(root, head)
    return head


def heads_at(leaf_hashes: Sequence[bytes], sizes: Sequence[int]) -> dict[int, bytes]:
    """The tree heads of the first ``size`` leaves for each of ``sizes``, in one pass (checking every kept
    checkpoint of a long trail): the frontier is kept as the leaves go by, and folded at each size asked for."""
    wanted, heads = set(sizes), {}
    if 0 in wanted:
        heads[0] = frontier_head([])
    frontier: list[bytes] = []
    for n, leaf in enumerate(leaf_hashes):
        append_leaf(frontier, n, leaf)
        if n + 1 in wanted:
            heads[n + 1] = frontier_head(frontier)
    return heads


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """The proof (RFC 6962 §2.1.2) that the tree of the first ``old_size`` leaves is a prefix of the tree of
    all ``leaf_hashes``: what a witness checks before it cosigns a larger tree."""
    if not 0 <= old_size <= len(leaf_hashes):
        raise ValueError(f"a tree of {old_size} is not a prefix of a tree of {len(leaf_hashes)}")
    if old_size in (0, len(leaf_hashes)):
        return []
    return _subproof(old_size, leaf_hashes, True)


def _subproof(m: int, leaves: Sequence[bytes], whole: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of RFC 6962 §2.1.2; ``whole`` is b: the old tree is this very subtree."""
    n = len(leaves)
    if m == n:
        return [] if whole else [tree_head(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], whole), tree_head(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), tree_head(leaves[:k])]


def verify_consistency(old_size: int, new_size: int, old_head: bytes, new_head: bytes,
                       proof: Sequence[bytes]) -> bool:
    """Whether ``proof`` shows the tree of ``old_size`` with ``old_head`` to be a prefix of the tree of
    ``new_size`` with ``new_head`` (the algorithm of RFC 9162 §2.1.4.2)."""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_head == new_head
    if old_size == 0:  # the empty tree is a prefix of every tree
        return not proof
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old tree is a node of the new one
        path.insert(0, old_head)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_head and sr == new_head and sn == 0


def trail_leaves(event_hashes: Sequence[str]) -> list[bytes]:
    """The leaf hashes of a trail: each event's hex ``hash`` as 32 raw bytes, hashed as a leaf."""
    return [leaf_hash(bytes.fromhex(h)) for h in event_hashes]
