"""The streamed chain check and the Merkle frontier: the same answers as the full computations."""

from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from domain import ZERO_HASH, chain_hash
from domain.chain_stream import ChainStream, head_after, pack, resumed, stored_event_hash, unpack
from domain.merkle import append_leaf, frontier_head, heads_at, leaf_hash, tree_head
from store import event_record

LEAVES = [leaf_hash(hashlib.sha256(str(i).encode()).digest()) for i in range(200)]


def test_the_frontier_head_is_the_full_root_at_every_size():
    frontier: list[bytes] = []
    assert frontier_head(frontier) == tree_head([])
    for n in range(1, 201):
        append_leaf(frontier, n - 1, LEAVES[n - 1])
        assert frontier_head(frontier) == tree_head(LEAVES[:n]), n
        assert len(frontier) == n.bit_count()  # O(log n) roots kept
    assert heads_at(LEAVES, range(201)) == {n: tree_head(LEAVES[:n]) for n in range(201)}


def test_a_frontier_extended_later_gives_the_same_head():
    for kept in (1, 2, 3, 7, 64, 100, 150):
        before: list[bytes] = []
        for n in range(kept - 1):
            append_leaf(before, n, LEAVES[n])
        restored = unpack(pack(before))
        assert restored == before
        last = hashlib.sha256(str(kept - 1).encode()).hexdigest()
        assert head_after(before, kept, last) == tree_head(LEAVES[:kept])
        frontier = restored[:]
        append_leaf(frontier, kept - 1, leaf_hash(bytes.fromhex(last)))
        for n in range(kept, 200):
            append_leaf(frontier, n, LEAVES[n])
            assert frontier_head(frontier) == tree_head(LEAVES[:n + 1])


def trail(n: int) -> list[dict]:
    events, prev = [], ZERO_HASH
    for seq in range(1, n + 1):
        body = {"seq": seq, "type": "StepCompleted", "at": f"2027-01-01T00:00:{seq % 60:02d}.000000Z",
                "actor": {"user": "u-1", "org": "caritas-rs", "role": "partner"}, "phase": "pilot",
                "step": "progress_report", "task_id": f"t{seq}", "data": {"form": {"n": seq, "šđ": "ë\n\"x\""}},
                "prev_hash": prev}
        prev = chain_hash(prev, body)
        events.append({**body, "hash": prev})
    return events


def columns(e: dict) -> tuple:
    actor = e["actor"] or {}
    return (e["seq"], e["type"], e["at"], actor.get("user"), actor.get("org"), actor.get("role"), e["phase"],
            e["step"], e["task_id"], json.dumps(e["data"], sort_keys=True, separators=(",", ":"),
                                                 ensure_ascii=False), e["prev_hash"])


def test_a_stream_accepts_a_sound_trail_and_keeps_its_merkle_heads():
    events = trail(40)
    stream = ChainStream(marks={5, 40}, kept_at=17)
    for e in events:
        assert stream.add(e["seq"], e["prev_hash"], e["hash"], stored_event_hash(*columns(e)))
    hashes = [bytes.fromhex(e["hash"]) for e in events]
    leaves = [leaf_hash(h) for h in hashes]
    assert stream.heads == {5: tree_head(leaves[:5]), 40: tree_head(leaves)}
    assert stream.before_kept is not None and head_after(stream.before_kept, 17, events[16]["hash"]) == \
        tree_head(leaves[:17])
    again = resumed(20, events[19]["hash"], [leaf for leaf in _frontier(leaves[:19])])
    for e in events[20:]:
        assert again.add(e["seq"], e["prev_hash"], e["hash"], stored_event_hash(*columns(e)))
    assert frontier_head(again.frontier) == tree_head(leaves)


def _frontier(leaves: list[bytes]) -> list[bytes]:
    frontier: list[bytes] = []
    for n, leaf in enumerate(leaves):
        append_leaf(frontier, n, leaf)
    return frontier


def test_a_stream_stops_at_the_first_event_that_does_not_hold():
    events = trail(10)
    changed = {**events[4], "data": {"form": {"n": 99}}}
    stream = ChainStream()
    results = [stream.add(e["seq"], e["prev_hash"], e["hash"], stored_event_hash(*columns(e)))
               for e in [*events[:4], changed, *events[5:]]]
    assert results == [True] * 4 + [False] * 6 and stream.size == 4
    skipped = ChainStream()
    assert [skipped.add(e["seq"], e["prev_hash"], e["hash"], stored_event_hash(*columns(e)))
            for e in [events[0], events[2]]] == [True, False]


# every value a stored event's columns can hold: text of any code point (escapes, controls, non-ASCII, quotes),
# nothing, and data that is any JSON value (floats, big ints, nesting)
TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30)
JSON = st.recursive(st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80)
                    | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                    max_leaves=12)
MAYBE = st.none() | TEXT


@settings(max_examples=400, deadline=None)
@given(seq=st.integers(min_value=1, max_value=2**40), type_=TEXT, at=TEXT, user=MAYBE, org=MAYBE, role=MAYBE,
       phase=MAYBE, step=MAYBE, task_id=MAYBE, data=JSON, prev=TEXT, spaced=st.booleans())
def test_the_stored_event_hash_is_chain_hash_over_the_record(seq, type_, at, user, org, role, phase, step,
                                                             task_id, data, prev, spaced):
    text = json.dumps(data, ensure_ascii=spaced, separators=(", ", ": ") if spaced else (",", ":"))
    row = SimpleNamespace(seq=seq, type=type_, at=at, actor_user=user, actor_org=org, actor_role=role, phase=phase,
                          step=step, task_id=task_id, data=text, prev_hash=prev, hash="")
    record = event_record(row)
    expected = chain_hash(str(prev), {k: v for k, v in record.items() if k != "hash"})
    assert stored_event_hash(seq, type_, at, user, org, role, phase, step, task_id, text, prev) == expected
    # given the stored hash: the stored text taken as it is when canonical, read again when not (spaced,
    # escaped, keys out of order) -- the same answer either way
    assert stored_event_hash(seq, type_, at, user, org, role, phase, step, task_id, text, prev, expected) == expected
    # a text that says something else never gives the stored hash, canonical or not
    other = json.dumps([data], ensure_ascii=spaced, separators=(", ", ": ") if spaced else (",", ":"))
    assert stored_event_hash(seq, type_, at, user, org, role, phase, step, task_id, other, prev, expected) != expected


def test_columns_of_another_kind_take_the_general_path():
    assert stored_event_hash("1", "T", "at", None, None, None, None, None, None, "{}", ZERO_HASH) is None
    assert stored_event_hash(1, "T", 5, None, None, None, None, None, None, "{}", ZERO_HASH) is None
    assert stored_event_hash(1, "T", "at", None, None, None, None, None, None, "{not json", ZERO_HASH) is None
    assert unpack("zz" * 32) is None and unpack("ab") is None
