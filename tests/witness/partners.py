"""The partners' witnesses of a coopflow deployment in tests: one `coopflow witness serve` process per partner
organisation, registered with `coopflow org witness`, and the CLI run against the test's store."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

from evidence.notes import Signer
from tests.witness.helpers import COOPFLOW, WitnessProcess, init_key, start_witness

NAMES = {"caritas-rs": "Caritas", "horizon-civitas-mk": "Horizon Civitas", "different-and-equal-al": "D&E"}


@dataclass
class PartnerWitness:
    org: str
    folder: Path
    key_file: Path
    key: str  # its verifier key
    process: WitnessProcess | None = None

    def start(self, signer: Signer, port: int | None = None) -> WitnessProcess:
        extra = ("--port", str(port)) if port else ()  # the last --port given is the one it listens on
        self.process = start_witness(self.folder, self.key_file, str(signer.verifier), extra=extra)
        if port:
            self.process.url = f"http://127.0.0.1:{port}"
        return self.process

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


def make_witness(folder: Path, org: str) -> PartnerWitness:
    folder.mkdir(parents=True, exist_ok=True)
    key_file, key = init_key(folder, f"witness.{org}.example/coopflow")
    return PartnerWitness(org, folder, key_file, key)


def cli(engine: Engine, signer: Signer, *args: str, code: int | None = 0) -> subprocess.CompletedProcess[str]:
    """`coopflow …` on the test's store, as the deployment (its signing key)."""
    env = {**os.environ, "COOPFLOW_DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "COOPFLOW_SIGNING_KEY": str(signer)}
    env.pop("COOPFLOW_VERIFIER_KEY", None)
    done = subprocess.run([COOPFLOW, *args], env=env, capture_output=True, text=True, timeout=120)
    if code is not None:
        assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    return done


def delete_as_operator(engine: Engine, table: str, project_id: str, where: str = "") -> None:
    """DELETE from an append-only table as its owner could: the guard dropped, the rows gone, the guard back."""
    statement = text(f"DELETE FROM {table} WHERE project_id = :p {where}")
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(statement, {"p": project_id})
            return
        names = [f"{table}_no_update", f"{table}_no_delete"]
        saved = [conn.execute(text("SELECT sql FROM sqlite_master WHERE type='trigger' AND name=:n"),
                              {"n": n}).scalar_one() for n in names]
        for name in names:
            conn.execute(text(f"DROP TRIGGER {name}"))
        conn.execute(statement, {"p": project_id})
        for sql in saved:
            conn.execute(text(sql))
