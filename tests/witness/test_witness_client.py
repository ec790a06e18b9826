"""``witness.client``: how coopflow asks a witness, against a real `coopflow witness serve`."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import pytest

from evidence.cosignature import Cosigner, verify_cosignature
from evidence.notes import Signer
from tests.witness.helpers import Log, WitnessProcess, free_port, init_key, start_witness
from witness.client import Conflict, Cosigned, Refused, request_cosignature, submit


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("client")


@pytest.fixture(scope="module")
def keys(folder: Path) -> tuple[Path, str]:
    return init_key(folder)


@pytest.fixture(scope="module")
def witness(folder: Path, keys: tuple[Path, str]) -> Iterator[WitnessProcess]:
    process = start_witness(folder, keys[0])
    yield process
    process.stop()


def test_cosigned_conflict_and_refused(witness: WitnessProcess, keys: tuple[Path, str]):
    log = Log("client").grow(4)
    first = submit(witness.url, keys[1], 0, [], log.note())
    assert isinstance(first, Cosigned)
    assert verify_cosignature(log.note() + first.lines, keys[1]) == first.time
    log.grow(3)
    assert submit(witness.url + "/", keys[1], 2, log.proof(2), log.note()) == Conflict(4)
    with httpx.Client() as client:  # a kept-alive client of coopflow's, many witnesses through it
        grown = submit(witness.url, keys[1], 4, log.proof(4), log.note(), client=client)
    assert isinstance(grown, Cosigned)
    fork = log.fork(5, 4, salt="x")
    refused = submit(witness.url, keys[1], 7, fork.proof(7), fork.note())
    assert isinstance(refused, Refused) and refused.status == 422 and not refused.retryable
    assert "consistency proof" in refused.text
    elsewhere = Log("p", Signer.generate("coopflow/elsewhere")).grow(1)
    assert submit(witness.url, keys[1], 0, [], elsewhere.note()) == Refused(
        404, "This witness does not follow the log coopflow/elsewhere/p.")


def test_a_conflict_is_proved_again_once(witness: WitnessProcess, keys: tuple[Path, str]):
    log = Log("client-conflict").grow(6)
    assert isinstance(submit(witness.url, keys[1], 0, [], log.note()), Cosigned)
    log.grow(5)
    asked: list[int] = []

    def prove(size: int) -> list[bytes]:
        asked.append(size)
        return log.proof(size)

    outcome = request_cosignature(witness.url, keys[1], log.note(), 0, prove)  # coopflow had forgotten
    assert isinstance(outcome, Cosigned) and asked == [0, 6]
    behind = request_cosignature(witness.url, keys[1], log.note(8), 3, lambda size: log.proof(size, 8))
    assert behind == Refused(409, "The witness has cosigned a tree of 11 leaves, larger than this checkpoint's 8: "
                                  "the log has gone back.")


def test_a_cosignature_by_another_key_is_not_taken(witness: WitnessProcess, keys: tuple[Path, str]):
    log = Log("client-other-key").grow(2)
    impostor = Cosigner.generate(keys[1].split("+")[0])  # the witness's name, another key
    refused = submit(witness.url, str(impostor.key), 0, [], log.note())
    assert isinstance(refused, Refused) and refused.status == 200
    assert "no cosignature by the witness" in refused.text


class _Liar(BaseHTTPRequestHandler):
    """A server that answers 200 with whatever ``answer`` says."""

    answer = b""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        self.send_response(200)
        self.send_header("content-length", str(len(self.answer)))
        self.end_headers()
        self.wfile.write(self.answer)

    def log_message(self, *args: object) -> None:
        pass


def test_an_answer_that_is_not_a_cosignature_is_refused(keys: tuple[Path, str]):
    log = Log("liar").grow(2)
    witness = Cosigner.parse(keys[0].read_text())
    server = HTTPServer(("127.0.0.1", 0), _Liar)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        for answer, words in [(b"", "no signature lines"), (b"hello\n", "not a signature line"),
                              (witness.cosign(Log("liar").grow(3).text(), 1).line().encode(), "does not hold"),
                              (b"x" * 100_000, "too large")]:
            _Liar.answer = answer
            refused = submit(url, str(witness.key), 0, [], log.note())
            assert isinstance(refused, Refused) and refused.status == 200 and words in refused.text, refused
        _Liar.answer = witness.cosign(log.text(), 1).line().encode()  # a right one, for once
        assert submit(url, str(witness.key), 0, [], log.note()) == Cosigned(_Liar.answer.decode(), 1)
    finally:
        server.shutdown()


def test_a_witness_that_is_away_raises(keys: tuple[Path, str]):
    with pytest.raises(httpx.ConnectError):
        submit(f"http://127.0.0.1:{free_port()}", keys[1], 0, [], Log("away").grow(1).note())
