"""A witness killed (SIGKILL) while it writes comes back with the tree it had or the one it was writing,
never a mix, and never with less than it answered: at fixed points (before the commit, after the commit
but before the answer) and at random moments under a stream of submissions."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from evidence.notes import Checkpoint, open_checkpoint
from tests.witness.helpers import SIGNER, Log, init_key, start_witness

pytestmark = pytest.mark.long(25)  # seconds on 2 cores: started first (tests/conftest.py)


def stored(db: Path) -> dict[str, tuple[int, bytes]]:
    """Each log's (size, root) as the file holds it, once its columns and its kept note agree."""
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = con.execute("SELECT origin, size, root, checkpoint FROM logs").fetchall()
    for origin, size, root, note in rows:
        assert open_checkpoint(note, SIGNER.verifier) == Checkpoint(origin, size, root), "a mixed row"
    return {origin: (size, root) for origin, size, root, _ in rows}


@pytest.mark.parametrize(("point", "kept"), [("commit.before", "old"), ("commit.after", "new")])
def test_killed_at_the_commit_it_keeps_the_old_tree_or_the_new_one(tmp_path: Path, point: str, kept: str):
    key_file, _ = init_key(tmp_path)
    log = Log("killed").grow(2)
    witness = start_witness(tmp_path, key_file, faults=f"{point}:3")  # the 3rd new tree is where it dies
    try:
        assert witness.post(log.body(0)).status_code == 200
        log.grow(2)
        assert witness.post(log.body(2)).status_code == 200
        log.grow(2)
        with pytest.raises(httpx.TransportError):  # no answer: it died
            witness.post(log.body(4))
        assert witness.proc.wait(timeout=30) == -9  # by its own SIGKILL, at the fault point
    finally:
        witness.kill()
    expected = {"old": (4, log.root(4)), "new": (6, log.root(6))}[kept]
    assert stored(witness.db) == {log.origin: expected}

    again = start_witness(tmp_path, key_file)
    try:
        retry = again.post(log.body(4))  # what a log does when it heard nothing: ask again
        if kept == "old":
            assert retry.status_code == 200
        else:  # it has cosigned 6 already: it says so, and cosigns 6 again from 6
            assert (retry.status_code, retry.text) == (409, "6\n")
            assert again.post(log.body(6)).status_code == 200
        assert stored(again.db) == {log.origin: (6, log.root(6))}
    finally:
        again.stop()


def test_killed_at_random_moments_it_never_loses_what_it_answered(tmp_path: Path):
    key_file, _ = init_key(tmp_path)
    rng = random.Random(20)
    logs = [Log(f"busy-{i}") for i in range(2)]
    known: dict[str, tuple[int, bytes]] = {}  # what the file held after the last kill
    committed_unanswered = 0
    for _ in range(12):
        witness = start_witness(tmp_path, key_file)
        answered = dict(known)  # (size, root) per origin: the last 200, or where the witness was
        in_flight: dict[str, tuple[int, bytes]] = {}
        stop = threading.Event()
        errors: list[str] = []

        def submit(log: Log, answered: dict[str, tuple[int, bytes]] = answered,
                   in_flight: dict[str, tuple[int, bytes]] = in_flight, stop: threading.Event = stop,
                   url: str = witness.url, steps: random.Random = random.Random(rng.random())) -> None:
            with httpx.Client(timeout=30) as client:
                while not stop.is_set():
                    old = answered.get(log.origin, (0, b""))[0]
                    if len(log.leaves) == old:  # else: catch up first with the leaves that were in flight
                        log.grow(steps.randint(1, 4))
                    in_flight[log.origin] = (len(log.leaves), log.root())
                    try:
                        answer = client.post(url + "/add-checkpoint", content=log.body(old))
                    except httpx.TransportError:
                        return  # killed before it answered
                    if answer.status_code != 200:
                        errors.append(f"{log.origin}: {answer.status_code} {answer.text}")
                        return
                    answered[log.origin] = in_flight.pop(log.origin)

        threads = [threading.Thread(target=submit, args=(log,)) for log in logs]
        try:
            for thread in threads:
                thread.start()
            time.sleep(rng.uniform(0.05, 0.4))
        finally:
            witness.kill()
            stop.set()
            for thread in threads:
                thread.join()
        assert not errors, errors
        state = stored(witness.db)
        for log in logs:
            allowed = [answered.get(log.origin), in_flight.get(log.origin)]
            assert state.get(log.origin) in allowed, (log.origin, state.get(log.origin), allowed)
            committed_unanswered += log.origin in in_flight and state.get(log.origin) == in_flight[log.origin]
        known = state
    print(f"12 kills; {committed_unanswered} times a tree had been stored but not yet answered; "
          f"sizes reached: { {o: s for o, (s, _) in known.items()} }")
    assert all(size > 0 for size, _ in known.values()) and len(known) == len(logs)
