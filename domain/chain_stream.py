"""The hash chain checked as its stored events stream by, in constant memory, with the RFC 6962 frontier kept
alongside: what `audit verify --all` runs over a whole store, and what extends a kept check to the events
written since (docs/verification.md).

It only says whether the events it was given hold: at the first one that does not, it stops, and the caller
runs the full check (``verify_chain``), which explains what is wrong, where."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from json.encoder import encode_basestring  # what json.dumps(ensure_ascii=False) writes a str with (C)

from domain.merkle import append_leaf, frontier_head, leaf_hash
from domain.model import ZERO_HASH

_DATA = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode  # canonical_json


def _data(text: str) -> str | None:
    """The ``data`` column read and written again as canonical JSON (``json.loads`` then ``canonical_json``)."""
    try:
        return _DATA(json.loads(text))
    except ValueError:
        return None


def stored_event_hash(seq: object, type_: object, at: object, actor_user: object, actor_org: object,
                      actor_role: object, phase: object, step: object, task_id: object, data: object,
                      prev_hash: object, hash_: object = None) -> str | None:
    """``chain_hash`` of a stored event, from its columns, as ``store.event_record`` shows it: the canonical
    JSON of the body written key by key (the keys are fixed and sorted), each string by the very function
    ``json.dumps`` uses. The ``data`` column is taken as it is stored (the store writes it canonically) when
    that gives ``hash_``, the hash stored beside it; otherwise it is read and written again canonically, as
    the full check does. None when a column is not of the kind the store writes (the caller then takes the
    general path, ``chain_hash`` over the record).

    Taking the stored text is safe: a text that gives the stored hash is the canonical text of the data that
    was hashed (SHA-256), so it reads as that data; any other text is re-encoded and checked like any event."""
    if seq.__class__ is not int or data.__class__ is not str or prev_hash.__class__ is not str:
        return None
    q = encode_basestring
    try:
        kind, at_, prev = q(type_), q(at), q(prev_hash)  # type: ignore[arg-type]
        phase_ = "null" if phase is None else q(phase)  # type: ignore[arg-type]
        step_ = "null" if step is None else q(step)  # type: ignore[arg-type]
        task_ = "null" if task_id is None else q(task_id)  # type: ignore[arg-type]
        actor = "null" if actor_user is None else (
            f'{{"org":{"null" if actor_org is None else q(actor_org)},'  # type: ignore[arg-type]
            f'"role":{"null" if actor_role is None else q(actor_role)},"user":{q(actor_user)}}}')  # type: ignore[arg-type]
    except TypeError:  # a column that is not text
        return None
    head = f'{prev_hash}{{"actor":{actor},"at":{at_},"data":'
    tail = f',"phase":{phase_},"prev_hash":{prev},"seq":{seq},"step":{step_},"task_id":{task_},"type":{kind}}}'
    own = hashlib.sha256(f"{head}{data}{tail}".encode()).hexdigest()
    if own == hash_:
        return own
    data_ = _data(str(data))
    if data_ is None:
        return None
    return hashlib.sha256(f"{head}{data_}{tail}".encode()).hexdigest()


@dataclass
class ChainStream:
    """A trail's chain checked event by event from a point already verified: ``size`` events, the last with
    hash ``head``, and the frontier of the Merkle tree over their hashes. ``marks``: sizes whose tree heads
    are wanted (kept checkpoints); ``kept_at``: the size at which to keep the frontier before the last leaf."""

    size: int = 0
    head: str = ZERO_HASH
    frontier: list[bytes] = field(default_factory=list)
    marks: set[int] = field(default_factory=set)
    kept_at: int | None = None
    heads: dict[int, bytes] = field(default_factory=dict)
    before_kept: list[bytes] | None = None  # the frontier of the first kept_at - 1 leaves
    before_last: list[bytes] = field(default_factory=list)  # the frontier of the first size - 1 leaves
    broken: bool = False

    def add(self, seq: object, prev_hash: object, hash_: object, own: str | None) -> bool:
        """One more event: its seq follows, its prev_hash is the hash before, its own hash (``own``, computed
        from its contents) is the one stored. False, and nothing more accepted, from the first that is not."""
        if self.broken or own is None or own != hash_ or seq != self.size + 1 or prev_hash != self.head:
            self.broken = True
            return False
        self.before_last = self.frontier[:]
        if self.size + 1 == self.kept_at:
            self.before_kept = self.before_last
        append_leaf(self.frontier, self.size, leaf_hash(bytes.fromhex(own)))
        self.size += 1
        self.head = own
        if self.size in self.marks:
            self.heads[self.size] = frontier_head(self.frontier)
        return True


def resumed(size: int, head: str, before_last: list[bytes], **kwargs: object) -> ChainStream:
    """A stream that goes on from a kept check: ``size`` events verified, the last with hash ``head``, and the
    frontier of the first ``size - 1`` leaves (the last leaf's hash is ``head`` itself, so the tree head at
    ``size`` is bound to the hash of that event)."""
    frontier = before_last[:]
    if size:
        append_leaf(frontier, size - 1, leaf_hash(bytes.fromhex(head)))
    return ChainStream(size=size, head=head, frontier=frontier, before_last=before_last[:], **kwargs)  # type: ignore[arg-type]


def head_after(before_last: list[bytes], size: int, last_hash: str) -> bytes:
    """The tree head at ``size`` from the frontier of the first ``size - 1`` leaves and the last event's hash."""
    frontier = before_last[:]
    append_leaf(frontier, size - 1, leaf_hash(bytes.fromhex(last_hash)))
    return frontier_head(frontier)


def pack(frontier: Iterable[bytes]) -> str:
    """A frontier as the store keeps it: its roots in hex, one after the other."""
    return "".join(root.hex() for root in frontier)


def unpack(text: str) -> list[bytes] | None:
    """A kept frontier, or None when the text is not one (then the kept check is not used)."""
    if len(text) % 64:
        return None
    try:
        return [bytes.fromhex(text[i:i + 64]) for i in range(0, len(text), 64)]
    except ValueError:
        return None
