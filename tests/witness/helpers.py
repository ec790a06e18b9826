"""Real logs and real witnesses for the witness tests: checkpoints signed with ``evidence.notes.Signer`` over
RFC 6962 trees of ``domain.merkle``, and `coopflow witness serve` as a process on a free port."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from domain.merkle import consistency_proof, leaf_hash, tree_head
from evidence.cosignature import Cosigner
from evidence.notes import Checkpoint, Signer
from witness.request import format_add_checkpoint

COOPFLOW = str(Path(sys.executable).parent / "coopflow")
SIGNER = Signer.generate("coopflow/witness-test")  # the deployment's key in these tests


@dataclass
class Log:
    """One project's trail as coopflow signs it: origin ``coopflow/<deployment>/<project>``."""

    project: str
    signer: Signer = SIGNER
    leaves: list[bytes] = field(default_factory=list)
    extensions: str = ""

    @property
    def origin(self) -> str:
        return f"{self.signer.name}/{self.project}"

    def grow(self, n: int, salt: str = "") -> Log:
        start = len(self.leaves)
        self.leaves += [leaf_hash(hashlib.sha256(f"{self.project}{salt}{start + i}".encode()).digest())
                        for i in range(n)]
        return self

    def fork(self, keep: int, n: int, salt: str) -> Log:
        """Another trail with the first ``keep`` leaves of this one, then ``n`` others."""
        return Log(self.project, self.signer, self.leaves[:keep], self.extensions).grow(n, salt)

    def root(self, size: int | None = None) -> bytes:
        return tree_head(self.leaves[:len(self.leaves) if size is None else size])

    def text(self, size: int | None = None) -> str:
        size = len(self.leaves) if size is None else size
        return Checkpoint(self.origin, size, self.root(size)).text() + self.extensions

    def note(self, size: int | None = None) -> str:
        return self.signer.sign(self.text(size))

    def proof(self, old: int, new: int | None = None) -> list[bytes]:
        return consistency_proof(self.leaves[:len(self.leaves) if new is None else new], old)

    def body(self, old: int, new: int | None = None) -> bytes:
        return format_add_checkpoint(old, self.proof(old, new), self.note(new))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def init_key(folder: Path, name: str = "witness.partner.example/coopflow") -> tuple[Path, str]:
    """`coopflow witness init`: the key file and the verifier key it printed."""
    key_file = folder / "witness.key"
    done = subprocess.run([COOPFLOW, "witness", "init", "--name", name, "--key-file", str(key_file)],
                          capture_output=True, text=True, timeout=60, cwd=folder)
    assert done.returncode == 0, done.stderr
    return key_file, done.stdout.strip()


@dataclass
class WitnessProcess:
    proc: subprocess.Popen[str]
    url: str
    said: dict[str, Any]
    db: Path

    def post(self, body: bytes, client: httpx.Client | None = None) -> httpx.Response:
        return (client or httpx).post(self.url + "/add-checkpoint", content=body, timeout=30)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


def start_witness(folder: Path, key_file: Path, log_key: str = "", *, faults: str = "",
                  extra: tuple[str, ...] = ()) -> WitnessProcess:
    """`coopflow witness serve --json` in ``folder`` (no coopflow settings at all), once it says it runs."""
    port = free_port()
    db = folder / "witness.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOPFLOW_")}
    env |= {"COOPFLOW_LOG_FORMAT": "json", "COOPFLOW_WITNESS_FAULTS": faults}
    with open(folder / "witness.log", "a") as log_file:
        proc = subprocess.Popen(
            [COOPFLOW, "witness", "serve", "--key-file", str(key_file), "--db", str(db), "--port", str(port),
             "--log-key", log_key or str(SIGNER.verifier), *extra, "--json"],
            stdout=subprocess.PIPE, stderr=log_file, text=True, env=env, cwd=folder)
    assert proc.stdout is not None
    said = [proc.stdout.readline()]
    while said[-1] and not said[-1].startswith("}"):
        said.append(proc.stdout.readline())
    text = "".join(said)
    if '"running"' not in text:
        proc.kill()
        proc.wait(timeout=30)
        raise AssertionError(f"the witness did not start: {text!r} {(folder / 'witness.log').read_text()}")
    return WitnessProcess(proc, f"http://127.0.0.1:{port}", json.loads(text), db)


def cosigner_of(key_file: Path) -> Cosigner:
    return Cosigner.parse(key_file.read_text())
