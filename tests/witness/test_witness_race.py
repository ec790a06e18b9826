"""Two logs' worth of checkpoints racing to one witness from the same tree: one is cosigned, never both."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import httpx

from evidence.cosignature import verify_cosignature
from evidence.notes import Checkpoint, open_checkpoint
from tests.witness.helpers import SIGNER, Log, init_key, start_witness
from witness.request import format_add_checkpoint

ROUNDS = 60


def test_of_two_conflicting_checkpoints_from_the_same_tree_exactly_one_is_cosigned(tmp_path: Path):
    key_file, key = init_key(tmp_path)
    witness = start_witness(tmp_path, key_file)
    clients = [httpx.Client(timeout=30), httpx.Client(timeout=30)]
    try:
        outcomes = []
        for round_ in range(ROUNDS):
            log = Log(f"race-{round_}").grow(2)
            assert witness.post(log.body(0), clients[0]).status_code == 200
            # two trees that keep the first 2 leaves and then differ: each consistent with 2, not with the other
            forks = [log.fork(2, 3, salt="a"), log.fork(2, 3 if round_ % 2 else 2, salt="b")]
            bodies = [format_add_checkpoint(2, fork.proof(2), fork.note()) for fork in forks]
            answers: list[httpx.Response | None] = [None, None]
            start = threading.Barrier(2)

            def send(i: int, bodies: list[bytes] = bodies, answers: list[httpx.Response | None] = answers,
                     start: threading.Barrier = start) -> None:
                start.wait()
                answers[i] = witness.post(bodies[i], clients[i])

            threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            statuses = [a.status_code for a in answers if a is not None]
            outcomes.append(tuple(statuses))
            assert sorted(statuses) in ([200, 409], [200, 422]), (round_, [a.text for a in answers if a])
            winner = statuses.index(200)
            cosigned = answers[winner]
            assert cosigned is not None
            assert verify_cosignature(forks[winner].note() + cosigned.text, key)
            latest = httpx.get(f"{witness.url}/{hashlib.sha256(log.origin.encode()).hexdigest()}/checkpoint")
            assert open_checkpoint(latest.text, SIGNER.verifier) == Checkpoint(
                log.origin, len(forks[winner].leaves), forks[winner].root())
        print(f"{ROUNDS} races: first request won {sum(o[0] == 200 for o in outcomes)}, "
              f"second won {sum(o[1] == 200 for o in outcomes)}")
    finally:
        for client in clients:
            client.close()
        witness.stop()
