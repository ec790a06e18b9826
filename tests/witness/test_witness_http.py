"""`coopflow witness serve` as a real process, over HTTP: every answer of c2sp.org/tlog-witness add-checkpoint,
for checkpoints coopflow's way (``evidence.notes.Signer`` over ``domain.merkle`` trees)."""

from __future__ import annotations

import base64
import hashlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from evidence.cosignature import verify_cosignature
from evidence.notes import Checkpoint, Signer, open_checkpoint, split_note
from tests.witness.helpers import SIGNER, Log, WitnessProcess, init_key, start_witness
from witness.request import format_add_checkpoint

SIZE_TYPE = "text/x.tlog.size"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("witness")


@pytest.fixture(scope="module")
def keys(folder: Path) -> tuple[Path, str]:
    return init_key(folder)


@pytest.fixture(scope="module")
def witness(folder: Path, keys: tuple[Path, str]) -> Iterator[WitnessProcess]:
    process = start_witness(folder, keys[0])
    yield process
    process.stop()


def test_it_says_how_it_runs(witness: WitnessProcess, keys: tuple[Path, str]):
    assert witness.said["status"] == "running"
    assert witness.said["key"] == keys[1]
    assert witness.said["origin_prefix"] == "coopflow/witness-test/"  # the log key's name and a slash
    assert witness.said["log_key"] == str(SIGNER.verifier)


def test_a_log_grows_and_each_checkpoint_is_cosigned(witness: WitnessProcess, keys: tuple[Path, str]):
    log = Log("grows").grow(3)
    before = int(time.time())
    first = witness.post(log.body(0))
    assert first.status_code == 200, first.text
    when = verify_cosignature(log.note() + first.text, keys[1])
    assert before <= when <= time.time()
    assert first.text.startswith("— witness.partner.example/coopflow ") and first.text.count("\n") == 1

    log.grow(4)
    grown = witness.post(log.body(3))
    assert grown.status_code == 200, grown.text
    assert verify_cosignature(log.note() + grown.text, keys[1]) >= when
    again = witness.post(log.body(7))  # the very checkpoint it knows: cosigned again
    assert again.status_code == 200, again.text


def test_a_stale_old_size_is_told_the_size_the_witness_knows(witness: WitnessProcess):
    log = Log("stale").grow(5)
    assert witness.post(log.body(0)).status_code == 200
    log.grow(3)
    stale = witness.post(log.body(2))
    assert stale.status_code == 409
    assert stale.headers["content-type"] == SIZE_TYPE
    assert stale.text == "5\n"
    learnt = witness.post(log.body(0))  # a client that knows nothing asks with 0 and learns
    assert (learnt.status_code, learnt.text) == (409, "5\n")
    assert witness.post(log.body(5)).status_code == 200


def test_an_inconsistent_checkpoint_is_refused(witness: WitnessProcess):
    log = Log("forked").grow(7)
    assert witness.post(log.body(0)).status_code == 200
    fork = log.fork(5, 4, salt="rewritten")  # the first 5 kept, 2 rewritten, 2 more: 9 leaves
    forged = witness.post(format_add_checkpoint(7, fork.proof(7), fork.note()))
    assert forged.status_code == 422, forged.text
    same_size = witness.post(format_add_checkpoint(7, [], fork.note(7)))  # size 7, another root
    assert same_size.status_code == 422 and "forked" in same_size.text
    log.grow(2)
    proof = log.proof(7)
    proof[0] = hashlib.sha256(proof[0]).digest()
    tampered = witness.post(format_add_checkpoint(7, proof, log.note()))
    assert tampered.status_code == 422
    too_many = witness.post(format_add_checkpoint(7, [*log.proof(7), log.root()], log.note()))
    assert too_many.status_code == 422
    assert witness.post(log.body(7)).status_code == 200  # the true log goes on
    with sqlite3.connect(witness.db) as db:  # kept: the log signed two trees that cannot both be true
        kept = db.execute("SELECT reason, request FROM refused WHERE origin = ? ORDER BY id", (log.origin,)).fetchall()
    assert len(kept) == 4 and fork.note() in kept[0][1] and "forked" in kept[1][0]


def test_a_checkpoint_the_log_did_not_sign_is_refused(witness: WitnessProcess):
    log = Log("unsigned").grow(2)
    impostor = Log("unsigned", Signer.generate(SIGNER.name)).grow(2)  # the log's name, another key
    assert witness.post(impostor.body(0)).status_code == 403
    text, signatures = split_note(log.note())
    changed = text.replace("\n2\n", "\n3\n") + "\n" + signatures[0].line()  # the log's line, another text
    assert witness.post(format_add_checkpoint(0, [], changed)).status_code == 403
    other = Signer.generate("someone.else/log")
    with_stranger = log.note() + other.sign(log.text()).split("\n\n")[1]  # unknown keys are ignored
    assert witness.post(format_add_checkpoint(0, [], with_stranger)).status_code == 200


def test_a_log_it_does_not_follow_is_not_found(witness: WitnessProcess):
    elsewhere = Log("p1").grow(1)
    other_deployment = Signer(SIGNER.name.replace("witness-test", "witness-testing"), SIGNER.private_key)
    assert witness.post(Log("p1", other_deployment).grow(1).body(0)).status_code == 404  # prefix, not just start
    bare = SIGNER.sign(Checkpoint("coopflow/other", 1, elsewhere.root()).text())
    assert witness.post(format_add_checkpoint(0, [], bare)).status_code == 404


def test_a_smaller_tree_is_never_cosigned(witness: WitnessProcess):
    log = Log("rollback").grow(8)
    assert witness.post(log.body(0)).status_code == 200
    older = witness.post(format_add_checkpoint(8, [], log.note(5)))  # old above the size: malformed
    assert older.status_code == 400
    from_older = witness.post(log.body(3, 5))  # from a size it does not hold
    assert (from_older.status_code, from_older.text) == (409, "8\n")
    assert witness.post(log.body(0, 5)).status_code == 409
    assert witness.post(log.body(8)).status_code == 200  # still at 8


@pytest.mark.parametrize("body", [
    b"", b"old 0\n", b"old 00\n\n", b"old -1\n\n", b"new 0\n\n", b"old 0\r\n\r\n", b"old 1", b"\xff\xfe",
    b"old 99999999999999999999\n\n", b"old 1\nnot-base64!\n\n", b"old 1\nAAAA\n\n",
])
def test_a_malformed_body_is_a_bad_request(witness: WitnessProcess, body: bytes):
    note = Log("malformed").grow(1).note().encode()
    answer = witness.post(body + note if body.endswith(b"\n\n") else body)
    assert answer.status_code == 400, (body, answer.text)


def test_a_malformed_note_or_proof_is_a_bad_request(witness: WitnessProcess):
    log = Log("malformed-note").grow(5)
    text = log.text()
    for note in (text, text + "\n", text + "\nnot a signature\n", "one line\n\n" + log.note().split("\n\n")[1],
                 log.note().replace("\n5\n", "\n05\n"), log.note().replace("\n", "\r\n")):
        assert witness.post(format_add_checkpoint(0, [], note)).status_code == 400, note
    too_long = format_add_checkpoint(1, [hashlib.sha256(bytes([i])).digest() for i in range(64)], log.note())
    assert witness.post(too_long).status_code == 400
    non_canonical = base64.b64encode(bytes(32)).decode().replace("A=", "B=").encode()  # pad bits set
    assert witness.post(b"old 1\n" + non_canonical + b"\n\n" + log.note().encode()).status_code == 400
    assert witness.post(b"old 0\n\n" + b"x" * 200_000).status_code == 413


def test_the_empty_tree_and_a_proof_from_it(witness: WitnessProcess):
    empty = Log("empty")
    wrong_root = SIGNER.sign(Checkpoint(empty.origin, 0, hashlib.sha256(b"x").digest()).text())
    assert witness.post(format_add_checkpoint(0, [], wrong_root)).status_code == 422
    assert witness.post(empty.body(0)).status_code == 200  # size 0, SHA-256 of nothing
    empty.grow(4)
    with_proof = witness.post(format_add_checkpoint(0, [empty.root(2)], empty.note()))
    assert with_proof.status_code == 422  # from the empty tree the proof must be empty
    assert witness.post(empty.body(0)).status_code == 200


def test_extension_lines_are_cosigned_with_the_rest(witness: WitnessProcess, keys: tuple[Path, str]):
    log = Log("extended", extensions="note: an extension line\n").grow(3)
    answer = witness.post(log.body(0))
    assert answer.status_code == 200
    assert verify_cosignature(log.note() + answer.text, keys[1])
    stripped = Log("extended").grow(3).note()
    with pytest.raises(Exception, match="does not hold"):
        verify_cosignature(stripped + answer.text, keys[1])


def test_monitors_read_the_latest_cosigned_checkpoint(witness: WitnessProcess, keys: tuple[Path, str]):
    log = Log("monitored").grow(6)
    assert witness.post(log.body(0)).status_code == 200
    origin_hash = hashlib.sha256(log.origin.encode()).hexdigest()
    latest = httpx.get(f"{witness.url}/{origin_hash}/checkpoint")
    assert latest.status_code == 200
    assert open_checkpoint(latest.text, SIGNER.verifier) == Checkpoint(log.origin, 6, log.root())
    assert verify_cosignature(latest.text, keys[1])
    assert httpx.get(f"{witness.url}/{hashlib.sha256(b'nobody').hexdigest()}/checkpoint").status_code == 404


def test_what_it_cosigned_outlives_a_restart(folder: Path, keys: tuple[Path, str]):
    sub = folder / "restart"
    sub.mkdir()
    log = Log("restarted").grow(4)
    first = start_witness(sub, keys[0])
    try:
        assert first.post(log.body(0)).status_code == 200
    finally:
        assert first.stop() == 0  # SIGTERM: a clean stop
    second = start_witness(sub, keys[0])
    try:
        assert (second.post(log.body(0)).status_code, second.post(log.body(0)).text) == (409, "4\n")
    finally:
        second.stop()
