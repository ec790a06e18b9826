"""An auditor's offline check, end to end: a document in the chain, a signed checkpoint, the public key,
a bundle, then with nothing but those files (no store, no Temporal): verify, prove, verify a proof."""

from __future__ import annotations

import json
import subprocess
import zipfile

import httpx
import pytest

from services.seed import demo_email
from tests.cli.test_cli import COOPFLOW, LEAD, PARTNERS, Dev, dev, stop
from tests.utils.scenario import SAMPLE_DATA

pytestmark = pytest.mark.long(30)  # seconds on 2 cores: started first (tests/conftest.py)

__all__ = ["dev"]
PDF = b"%PDF-1.4\n% the draft agreement\n%%EOF\n"


def offline(dev: Dev, *args: str) -> subprocess.CompletedProcess[str]:
    """A command run where there is no store and no Temporal."""
    env = {**dev.env, "COOPFLOW_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
           "COOPFLOW_TEMPORAL_ADDRESS": "127.0.0.1:1"}
    return subprocess.run([COOPFLOW, *args], env=env, cwd=dev.tmp, capture_output=True, text=True, timeout=60)


def tokens(welcome: str) -> dict[str, str]:
    """Each demo user's API token by e-mail, as `coopflow dev` prints them."""
    return {line.split()[0]: line.split("token ")[1].strip() for line in welcome.splitlines() if " token cf_" in line}


def to_draft_agreement(dev: Dev, pid: str, token: dict[str, str]) -> str:
    """The project's tasks up to the draft agreement, each by its own organisation, over the API (the CLI's
    own `task complete` is proved in test_cli.py; here it would only start a process per step)."""
    url = f"http://127.0.0.1:{dev.web_port}/api"
    with httpx.Client(base_url=url, timeout=60) as http:
        for _ in range(10):
            for who in [LEAD, *(demo_email(p) for p in PARTNERS)]:
                auth = {"Authorization": f"Bearer {token[who]}"}
                for task in http.get("/tasks", headers=auth).json():
                    if task["step"] == "draft_agreement":
                        return str(task["id"])
                    outcome = {"outcome": "approved"} if task["step"] == "funding_decision" else {}
                    done = http.post(f"/projects/{pid}/tasks/{task['id']}/complete", headers=auth,
                                     json={"data": SAMPLE_DATA.get(task["step"], {}), **outcome})
                    assert done.status_code == 200, done.text
    raise AssertionError("draft_agreement never opened")


def test_bundle_checkpoint_and_proof_verify_offline(dev: Dev):
    proc = dev.start()
    try:
        welcome = (dev.tmp / "dev.out").read_text()
        token = tokens(welcome)[LEAD]
        pid = dev.json("project", "start", "--as", LEAD, "--title", "Pilot",
                       *[a for p in PARTNERS for a in ("--partner", p)])["id"]
        task = to_draft_agreement(dev, pid, tokens(welcome))
        uploaded = httpx.post(f"http://127.0.0.1:{dev.web_port}/api/projects/{pid}/documents",
                              headers={"Authorization": f"Bearer {token}"},
                              files={"file": ("Entwurf.pdf", PDF)}).json()
        dev.json("task", "complete", pid, task, "--as", LEAD, "--data", json.dumps({
            "document_ref": "2027/1", "data_protection_clause": True, "agreement": {"sha256": uploaded["sha256"]}}))

        note = dev.tmp / "checkpoint.note"
        signed = dev.json("audit", "checkpoint", pid, "--output", str(note))
        assert note.read_text() == signed["note"] and signed["note"].startswith("coopflow/")
        key = dev.cli("audit", "public-key").stdout.strip()
        assert key.startswith("coopflow/127.0.0.1") and (dev.tmp / "data" / "signing.key").stat().st_mode & 0o077 == 0
        bundle = dev.tmp / "project.zip"
        exported = dev.cli("audit", "export", pid, "--format", "bundle", "--output", str(bundle))
        assert "1 documents and 1 checkpoints" in exported.stderr
        proof = dev.tmp / "proof.json"
        proof.write_text(dev.cli("audit", "prove", pid, "3").stdout)
    finally:
        assert stop(proc) == 0

    checked = offline(dev, "audit", "verify", "--file", str(bundle), "--checkpoint", str(note), "--key", key)
    assert checked.returncode == 0, checked.stderr
    assert "1 documents present and unchanged" in checked.stdout and "signature and tree head hold" in checked.stdout
    proved = offline(dev, "audit", "verify-proof", str(proof), "--key", key)
    assert proved.returncode == 0 and proved.stdout.startswith("OK: event 3"), proved.stderr

    forged = json.loads(proof.read_text())
    forged["event"]["at"] = "2020-01-01T00:00:00.000000Z"
    proof.write_text(json.dumps(forged))
    refused = offline(dev, "audit", "verify-proof", str(proof), "--key", key)
    assert refused.returncode == 1 and "BROKEN" in refused.stdout

    changed = dev.tmp / "changed.zip"
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(changed, "w") as out:
        for name in source.namelist():
            out.writestr(name, PDF + b"x" if name.startswith("documents/") else source.read(name))
    broken = offline(dev, "audit", "verify", "--file", str(changed))
    assert broken.returncode == 1 and "document changed: Entwurf.pdf" in broken.stdout
    wrong_key = offline(dev, "audit", "verify", "--file", str(bundle), "--checkpoint", str(note), "--key",
                        key.replace(key.split("+")[1], "00000000"))
    assert wrong_key.returncode == 1 and "Traceback" not in wrong_key.stderr
    print("\n".join([checked.stdout, proved.stdout, refused.stdout, broken.stdout]))
