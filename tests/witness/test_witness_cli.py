"""`coopflow witness init` and `serve` as a partner's administrator runs them, and what the witness imports."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from evidence.cosignature import Cosigner, WitnessKey
from tests.witness.helpers import COOPFLOW, SIGNER, free_port, init_key, start_witness


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOPFLOW_")}
    return subprocess.run([COOPFLOW, "witness", *args], capture_output=True, text=True, timeout=60, cwd=cwd, env=env)


def test_init_makes_a_private_key_file_and_prints_the_verifier_key(tmp_path: Path):
    key_file, printed = init_key(tmp_path, "witness.caritas.example/coopflow")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    private = Cosigner.parse(key_file.read_text()).private_key
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    name = "witness.caritas.example/coopflow"
    key_id = hashlib.sha256(name.encode() + b"\n\x04" + public).digest()[:4]
    encoded = base64.b64encode(b"\x04" + public).decode()  # type 0x04: timestamped Ed25519 cosignatures
    assert printed == f"{name}+{key_id.hex()}+{encoded}"
    assert WitnessKey.parse(printed).id == key_id


def test_init_never_overwrites_a_key(tmp_path: Path):
    key_file, _ = init_key(tmp_path)
    before = key_file.read_text()
    again = run("init", "--name", "witness.example/other", "--key-file", str(key_file), cwd=tmp_path)
    assert again.returncode == 1 and "exists already" in again.stderr
    assert key_file.read_text() == before
    as_json = run("init", "--name", "witness.example/two", "--key-file", str(tmp_path / "two.key"), "--json",
                  cwd=tmp_path)
    said = json.loads(as_json.stdout)
    assert said["name"] == "witness.example/two" and said["key"].startswith("witness.example/two+" + said["key_id"])
    bad_name = run("init", "--name", "has space", "--key-file", str(tmp_path / "three.key"), cwd=tmp_path)
    assert bad_name.returncode == 1 and "not a key name" in bad_name.stderr
    assert not (tmp_path / "three.key").exists()


def test_serve_says_what_is_wrong(tmp_path: Path):
    key_file, _ = init_key(tmp_path)
    base = ["serve", "--db", str(tmp_path / "w.db"), "--port", str(free_port())]
    missing = run(*base, "--key-file", str(tmp_path / "nope.key"), "--log-key", str(SIGNER.verifier), cwd=tmp_path)
    assert missing.returncode == 1 and "coopflow witness init" in missing.stderr
    wrong_log_key = run(*base, "--key-file", str(key_file), "--log-key", "coopflow/x+00000000+AAAA", cwd=tmp_path)
    assert wrong_log_key.returncode == 1 and "error:" in wrong_log_key.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = run("serve", "--db", str(tmp_path / "w.db"), "--port", str(taken.getsockname()[1]),
                   "--key-file", str(key_file), "--log-key", str(SIGNER.verifier), cwd=tmp_path)
    assert busy.returncode == 1 and "cannot listen" in busy.stderr
    with sqlite3.connect(tmp_path / "coopflow.db") as other:
        other.execute("CREATE TABLE events (seq INTEGER)")
    wrong_db = run("serve", "--db", str(tmp_path / "coopflow.db"), "--port", str(free_port()),
                   "--key-file", str(key_file), "--log-key", str(SIGNER.verifier), cwd=tmp_path)
    assert wrong_db.returncode == 1 and "not a database of this witness" in wrong_db.stderr
    with sqlite3.connect(tmp_path / "coopflow.db") as other:  # nothing was added to it
        assert other.execute("SELECT name FROM sqlite_master").fetchall() == [("events",)]


def test_serve_takes_the_log_key_from_a_file_and_a_prefix(tmp_path: Path):
    key_file, _ = init_key(tmp_path)
    (tmp_path / "log.vkey").write_text(str(SIGNER.verifier) + "\n")
    key_file.chmod(0o644)
    witness = start_witness(tmp_path, key_file, str(tmp_path / "log.vkey"), extra=("--origin-prefix", "coopflow/"))
    try:
        assert witness.said["origin_prefix"] == "coopflow/" and witness.said["log_key"] == str(SIGNER.verifier)
    finally:
        assert witness.stop() == 0
    assert "can be read by others" in (tmp_path / "witness.log").read_text()


def test_the_witness_needs_no_store_no_temporal_no_services():
    code = ("import sys, witness.server, witness.client, witness.core, evidence.cosignature; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'store', 'services', 'workflows', 'activities', "
            "'temporalio', 'sqlalchemy', 'sqlmodel', 'settings', 'web', 'fastapi', 'alembic', 'psycopg'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
