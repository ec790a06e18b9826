"""Exports a person opens in other programs: a bundle's documents keep their names beside their hashes
(sealed names stay sealed), and the command line's CSV starts with a byte-order mark, as the web's does."""

from __future__ import annotations

import io
import json
import os
import subprocess
import zipfile
from pathlib import Path

from sqlalchemy.engine import Engine

from evidence.proofs import verify_bundle
from services.app import Coopflow
from services.seed import demo_email
from tests.cli.test_cli import COOPFLOW
from tests.utils.app import actor, play, start
from tests.web.conftest import Live, live

__all__ = ["live"]

LEAD, CARITAS, HORIZON, DIFFERENT = "stadt-dortmund", "caritas-rs", "horizon-civitas-mk", "different-and-equal-al"
PDF = b"%PDF-1.4\n% the draft agreement\n%%EOF\n"


def bundle_of(app: Coopflow, org: str, pid: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{org}.zip"
    with path.open("wb") as out:
        app.export_bundle(actor(app, org), pid, out)
    return path


def manifest(path: Path) -> list[dict]:
    with zipfile.ZipFile(path) as bundle:
        return json.loads(bundle.read("documents.json"))


async def test_a_bundles_documents_keep_their_names_and_the_manifest_is_verified(app: Coopflow, tmp_path: Path):
    project = await start(app)
    pid = project["id"]
    await play(app, pid, loops=False, until_step="draft_agreement")
    lead = actor(app, LEAD)
    doc = app.upload_document(lead, pid, io.BytesIO(PDF), "Нацрт договор 2027.pdf")
    task = next(t for t in app.show_project(lead, pid)["tasks"] if t["step"] == "draft_agreement")
    await app.complete_task(lead, pid, task["id"], data={"document_ref": "2027/1", "data_protection_clause": True,
                                                         "agreement": {"sha256": doc["sha256"]}})
    path = bundle_of(app, LEAD, pid, tmp_path)
    [entry] = manifest(path)
    assert entry["file"] == f"documents/{doc['sha256']}" and entry["name"] == "Нацрт договор 2027.pdf"
    assert entry["media_type"] == "application/pdf" and entry["size"] == len(PDF)
    checked = verify_bundle(path)
    assert checked["ok"] and checked["documents"] == 1, checked["problems"]

    changed = tmp_path / "renamed.zip"  # a manifest that names what no event names is caught offline
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(changed, "w") as out:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "documents.json":
                data = json.dumps([{**entry, "name": "Vertrag.exe"}]).encode()
            out.writestr(item, data)
    problems = verify_bundle(changed)["problems"]
    assert any("Vertrag.exe" in p["reason"] and "documents.json" in p["reason"] for p in problems), problems


async def test_a_sealed_personal_document_keeps_its_sealed_name_in_the_manifest(app: Coopflow, tmp_path: Path):
    lead = actor(app, LEAD)
    pid = (await app.start_project(lead, title="Return", partners=[CARITAS, HORIZON, DIFFERENT],
                                   template="return-referral"))["id"]
    form = app.upload_document(lead, pid, io.BytesIO(PDF), "Ljiljana_pelqimi.pdf", task_id="t1",
                               field="consent_form")
    await app.complete_task(lead, pid, "t1", data={"person_name": "Љиљана Петровић", "date_of_birth": "1991-04-02",
                                                   "consent": True, "consent_on": "2026-01-04",
                                                   "consent_form": {"sha256": form["sha256"]}})
    for org in (LEAD, CARITAS):
        path = bundle_of(app, org, pid, tmp_path)
        with zipfile.ZipFile(path) as bundle:
            raw = b"".join(bundle.read(n) for n in bundle.namelist())
        assert b"Ljiljana" not in raw, org
        with zipfile.ZipFile(path) as bundle:
            consent = next(json.loads(line) for line in bundle.read("events.jsonl").splitlines()
                           if json.loads(line)["task_id"] == "t1" and json.loads(line)["type"] == "StepCompleted")
        # the lead's events carry the field sealed (its name with it), Caritas's leave it out: neither lists it
        assert str(consent["data"]["form"].get("consent_form", "sealed:")).startswith("sealed:"), consent
        assert manifest(path) == [], org
        assert form["name"] == "Ljiljana_pelqimi.pdf"  # the uploader was told its name in clear


async def test_the_command_lines_csv_export_starts_with_a_byte_order_mark(live: Live, sqlite_engine: Engine,
                                                                          tmp_path: Path):
    pid = (await start(live.coopflow, title="Повратак у Скопље"))["id"]
    out = tmp_path / "trail.csv"
    env = {**os.environ, "COOPFLOW_DATABASE_URL": sqlite_engine.url.render_as_string(hide_password=False),
           "COOPFLOW_DATA_DIR": str(tmp_path / "data")}
    for target in (["--output", str(out)], []):
        done = subprocess.run([COOPFLOW, "audit", "export", pid, "--format", "csv", "--as", demo_email(LEAD),
                               *target], env=env, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr
        text = out.read_bytes() if target else done.stdout
        assert text.startswith(b"\xef\xbb\xbfseq,type,at"), text[:40]
        assert "Повратак у Скопље".encode() in text
