"""Witnessed checkpoints end to end (#20): a project of three partners, each running its own `coopflow witness
serve`; the project ends (its closing checkpoint), the submission activity sends the checkpoint to the three
witnesses, and the cosignatures are kept, printed and checked offline. Then the operator's attack: with the
database and the deployment's own key, a consistent rewrite signed afresh fools the log's key alone, but no
witness cosigns it, and the last cosigned checkpoint names it. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence.notes import Checkpoint, Signer
from evidence.signing import origin, trail_head
from services.app import Coopflow
from services.witnessing import submit_to_witnesses
from store import iter_events
from store.checkpoints import add_checkpoint, alarms, latest_checkpoint
from store.witnesses import cosignatures, statuses
from tests.store.test_signer_checks_first import append_one, rewrite_consistently
from tests.utils.app import PARTNERS, play, start
from tests.utils.tamper import tamper
from tests.witness.partners import PartnerWitness, cli, delete_as_operator, make_witness

pytestmark = pytest.mark.long(75)  # seconds on 2 cores: started first (tests/conftest.py)


@pytest.fixture(scope="module")
def witnesses(tmp_path_factory: pytest.TempPathFactory, signer: Signer) -> Iterator[list[PartnerWitness]]:
    made = [make_witness(tmp_path_factory.mktemp(org), org) for org in PARTNERS]
    for w in made:
        w.start(signer)
    yield made
    for w in made:
        w.stop()


def register(app: Coopflow, signer: Signer, witnesses: list[PartnerWitness]) -> None:
    for w in witnesses:
        assert w.process is not None
        done = cli(app.engine, signer, "org", "witness", w.org, "--url", w.process.url, "--key", w.key)
        assert f"Registered the witness of {w.org}" in done.stdout


async def ended_and_cosigned(app: Coopflow, signer: Signer, witnesses: list[PartnerWitness]) -> tuple[str, int]:
    register(app, signer, witnesses)
    pid = (await start(app))["id"]
    await play(app, pid)  # to its end: the closing checkpoint is made right after the last write
    last = latest_checkpoint(app.engine, pid)
    assert last is not None and last["tree_size"] == len(list(iter_events(app.engine, pid)))
    submit_to_witnesses(app.engine)  # the activity's work, called directly
    assert {c["org_id"] for c in cosignatures(app.engine, pid, last["tree_size"])} == set(PARTNERS)
    return pid, last["tree_size"]


async def test_three_partners_cosign_and_funders_verify_offline(app: Coopflow, signer: Signer,
                                                                witnesses: list[PartnerWitness], tmp_path: Path):
    pid, size = await ended_and_cosigned(app, signer, witnesses)
    keys = [a for w in witnesses for a in ("--witness-key", w.key)]
    listed = cli(app.engine, signer, "org", "list").stdout
    assert all(f"witness {w.process.url}" in listed for w in witnesses if w.process)

    note = cli(app.engine, signer, "audit", "checkpoint", pid, "--output", str(tmp_path / "cp.note")).stdout
    lines = note.rstrip("\n").split("\n\n", 1)[1].split("\n")
    assert lines[0].startswith(f"— {signer.name} ") and len(lines) == 4  # the log's, then three cosignatures
    assert sorted(line.split()[1] for line in lines[1:]) == sorted(f"witness.{o}.example/coopflow" for o in PARTNERS)

    verified = cli(app.engine, signer, "audit", "verify", pid, *keys).stdout
    assert "3 of 3 witnesses cosigned (quorum 3)" in verified
    cli(app.engine, signer, "audit", "verify", pid, "--checkpoint", str(tmp_path / "cp.note"), "--key",
        str(signer.verifier), *keys)

    # a note that lost one cosignature: three keys, quorum 3 fails and names the witness; quorum 2 holds
    kept = (tmp_path / "cp.note").read_text()
    (tmp_path / "two.note").write_text("".join(line for line in kept.splitlines(keepends=True)
                                               if "witness.caritas-rs" not in line))
    failed = cli(app.engine, signer, "audit", "verify", pid, "--checkpoint", str(tmp_path / "two.note"), "--key",
                 str(signer.verifier), *keys, "--quorum", "3", code=1).stdout
    assert "witness witness.caritas-rs.example/coopflow" in failed and "only 2 of the 3 witnesses" in failed
    cli(app.engine, signer, "audit", "verify", pid, "--checkpoint", str(tmp_path / "two.note"), "--key",
        str(signer.verifier), *keys, "--quorum", "2")

    # offline: the bundle and a proof carry the cosigned checkpoint
    cli(app.engine, signer, "audit", "export", pid, "--format", "bundle", "--output", str(tmp_path / "b.zip"))
    offline = cli(app.engine, signer, "audit", "verify", "--file", str(tmp_path / "b.zip"), "--key",
                  str(signer.verifier), *keys).stdout
    assert f"at {size} events: signature and tree head hold" in offline and "3 of 3 witnesses" in offline
    proof = cli(app.engine, signer, "audit", "prove", pid, "3").stdout
    (tmp_path / "proof.json").write_text(proof)
    assert json.loads(proof)["checkpoint"].count("\n— ") == 4
    cli(app.engine, signer, "audit", "verify-proof", str(tmp_path / "proof.json"), "--key", str(signer.verifier),
        *keys)


async def test_the_operators_rewrite_is_refused_by_every_witness(app: Coopflow, signer: Signer,
                                                                  witnesses: list[PartnerWitness], tmp_path: Path):
    pid, size = await ended_and_cosigned(app, signer, witnesses)
    keys = [a for w in witnesses for a in ("--witness-key", w.key)]
    good = tmp_path / "cosigned.note"
    cli(app.engine, signer, "audit", "checkpoint", pid, "--output", str(good))  # what a partner keeps

    # the operator: rewrite seq 5 and every hash after it, one event more, away with the kept checkpoints, and
    # a checkpoint of the forgery signed with the deployment's own key (not through the signer's checks)
    rewrite_consistently(app.engine, pid, 5)
    append_one(app.engine, pid)
    for table in ("cosignature", "checkpoint"):
        delete_as_operator(app.engine, table, pid)
    hashes = [e["hash"] for e in iter_events(app.engine, pid)]
    forged = signer.sign(Checkpoint(origin(signer, pid), len(hashes), trail_head(hashes)).text())
    add_checkpoint(app.engine, project_id=pid, tree_size=len(hashes), root_hash=trail_head(hashes).hex(),
                   note=forged, created_at="2030-01-01T00:00:00.000000Z")
    (tmp_path / "forged.note").write_text(forged)

    # the log's key alone is fooled
    assert cli(app.engine, signer, "audit", "verify", pid).stdout.startswith("OK")
    assert cli(app.engine, signer, "audit", "verify", pid, "--checkpoint", str(tmp_path / "forged.note"),
               "--key", str(signer.verifier)).stdout.startswith("OK")

    # every witness refuses it, and people see it
    assert submit_to_witnesses(app.engine)["cosigned"] == 0
    status = statuses(app.engine, pid)
    assert all(status[(pid, o)]["last_error"].startswith("refused as inconsistent (422)") for o in PARTNERS), status
    assert sorted(a["witness"] for a in alarms(app.engine, pid)) == sorted(PARTNERS)
    assert cosignatures(app.engine, pid, size + 1) == []
    caught = cli(app.engine, signer, "audit", "verify", pid, "--checkpoint", str(good), "--key",
                 str(signer.verifier), *keys, code=1).stdout
    assert f"seq {size}: rewritten" in caught and f"seq 1–{size}" in caught, caught
    latest = cli(app.engine, signer, "audit", "verify", pid, *keys, code=1).stdout  # the forgery: nobody cosigned
    assert latest.count("no cosignature by the witness") == 3

    # a rollback: fewer events, signed afresh
    tamper(app.engine, "DELETE FROM audit_event WHERE project_id = :p AND seq > :s", p=pid, s=size - 4)
    delete_as_operator(app.engine, "checkpoint", pid)
    hashes = hashes[:size - 4]
    add_checkpoint(app.engine, project_id=pid, tree_size=len(hashes), root_hash=trail_head(hashes).hex(),
                   note=signer.sign(Checkpoint(origin(signer, pid), len(hashes), trail_head(hashes)).text()),
                   created_at="2030-01-02T00:00:00.000000Z")
    assert submit_to_witnesses(app.engine)["cosigned"] == 0
    status = statuses(app.engine, pid)
    assert all(status[(pid, o)]["last_error"].startswith("refused as inconsistent (409)") for o in PARTNERS), status
    assert len(alarms(app.engine, pid)) == 6
