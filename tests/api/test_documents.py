"""Documents over the API: upload, name in a completion, download; who may; what is refused."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import httpx
import pytest

from evidence.proofs import verify_bundle
from services.app import Coopflow
from store import iter_events
from tests.api.conftest import OTHER_LEAD, auth
from tests.utils.app import LEAD, start

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64 + b"This program cannot be run"


def docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


async def upload(http: httpx.AsyncClient, token: str, pid: str, name: str, content: bytes) -> httpx.Response:
    return await http.post(f"/api/projects/{pid}/documents", headers=auth(token), files={"file": (name, content)})


async def at_signing(app: Coopflow) -> str:
    """A project (v3 or later: file fields) whose partners are to sign the agreement (each with a signed copy)."""
    from tests.utils.app import play

    project = await start(app)
    assert project["template"]["id"] == "cooperation" and project["template"]["version"] >= 3
    await play(app, project["id"], until_step="sign_agreement")
    return str(project["id"])


def open_task(app: Coopflow, pid: str, step: str, org: str) -> str:
    from tests.utils.app import actor

    tasks = app.show_project(actor(app, LEAD), pid)["tasks"]
    return next(t["id"] for t in tasks if t["step"] == step and t["assignee"] == org and t["status"] == "open")


async def test_a_partner_uploads_completes_with_it_and_downloads_it(http: httpx.AsyncClient, tokens: dict[str, str],
                                                                   app: Coopflow, tmp_path: Path):
    pid = await at_signing(app)
    caritas = tokens["caritas-rs"]
    response = await upload(http, caritas, pid, "../../Vereinbarung unterzeichnet.pdf", PDF)
    assert response.status_code == 201, response.text
    record = response.json()
    assert record == {"sha256": record["sha256"], "name": "Vereinbarung unterzeichnet.pdf", "size": len(PDF),
                      "media_type": "application/pdf"}
    task = open_task(app, pid, "sign_agreement", "caritas-rs")
    done = await http.post(f"/api/projects/{pid}/tasks/{task}/complete", headers=auth(caritas), json={
        "data": {"signatory": "Director", "signed_copy": {"sha256": record["sha256"]}}})
    assert done.status_code == 200, done.text
    event = next(e for e in iter_events(app.engine, pid) if e["task_id"] == task and e["type"] == "StepCompleted")
    assert event["data"]["form"]["signed_copy"] == record  # the chain covers the document

    for who in ("caritas-rs", "horizon-civitas-mk", "stadt-dortmund", "audit-office"):
        got = await http.get(f"/api/projects/{pid}/documents/{record['sha256']}", headers=auth(tokens[who]))
        assert got.status_code == 200 and got.content == PDF
        assert got.headers["content-disposition"].startswith('attachment; filename="Vereinbarung_unterzeichnet.pdf"')
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["content-type"] == "application/pdf"
    other = await http.get(f"/api/projects/{pid}/documents/{record['sha256']}", headers=auth(tokens[OTHER_LEAD]))
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"
    unknown = await http.get(f"/api/projects/{pid}/documents/{'0' * 64}", headers=auth(caritas))
    assert unknown.status_code == 404
    assert (await upload(http, tokens[OTHER_LEAD], pid, "x.pdf", PDF)).status_code == 404

    # the bundle carries it, and an offline check finds it unchanged; changed or missing, it is named
    bundle = tmp_path / "p.zip"
    with bundle.open("wb") as out:
        assert app.export_bundle(app.actor_for_email("audit@demo.coopflow.example"), pid, out)["documents"] == 1
    assert verify_bundle(bundle)["ok"]
    member = f"documents/{record['sha256']}"
    for broken, word in ((rebuilt(bundle, {member: PDF + b"%changed"}), "document changed"),
                         (rebuilt(bundle, {member: None}), "document missing")):
        result = verify_bundle(broken)
        assert not result["ok"]
        assert any(word in p["reason"] and "Vereinbarung unterzeichnet.pdf" in p["reason"] for p in result["problems"])


def rebuilt(bundle: Path, changes: dict[str, bytes | None]) -> Path:
    """A copy of the bundle with members replaced (bytes) or left out (None)."""
    target = bundle.with_name(f"{bundle.stem}-{len(list(bundle.parent.iterdir()))}.zip")
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(target, "w") as out:
        for name in source.namelist():
            if name in changes:
                if changes[name] is not None:
                    out.writestr(name, changes[name])  # type: ignore[arg-type]
            else:
                out.writestr(name, source.read(name))
    return target


@pytest.mark.parametrize(("name", "content", "status", "code"), [
    ("scan.png", PDF, 415, "unsupported_media_type"),  # a PDF renamed .png
    ("agreement.pdf", EXE, 415, "unsupported_media_type"),  # a program renamed .pdf
    ("image.pdf", PNG, 415, "unsupported_media_type"),
    ("empty.txt", b"", 422, "invalid_data"),
])
async def test_types_are_checked_by_content(http: httpx.AsyncClient, tokens: dict[str, str], app: Coopflow,
                                            name: str, content: bytes, status: int, code: str):
    pid = (await start(app))["id"]
    response = await upload(http, tokens[LEAD], pid, name, content)
    assert response.status_code == status and response.json()["error"]["code"] == code, response.text
    assert response.json()["error"]["details"] == {"file": response.json()["error"]["details"]["file"]}


async def test_office_documents_and_text_are_taken(http: httpx.AsyncClient, tokens: dict[str, str], app: Coopflow):
    pid = (await start(app))["id"]
    for name, content, media_type in (
            ("plan.docx", docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
            ("budget.csv", b"Posten;Betrag\nReisen;1200\n", "text/csv"),
            ("notes", "Übersicht\n".encode(), "text/plain"), ("photo.png", PNG, "image/png")):
        response = await upload(http, tokens[LEAD], pid, name, content)
        assert response.status_code == 201 and response.json()["media_type"] == media_type, response.text
    assert response.json()["name"] == "photo.png"


async def test_a_document_over_the_limit_is_413_and_kept_nowhere(http: httpx.AsyncClient, tokens: dict[str, str],
                                                                 app: Coopflow):
    pid = (await start(app))["id"]
    app.max_document_bytes = 1000
    response = await upload(http, tokens[LEAD], pid, "long.txt", b"a" * 1001)
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"
    assert (await upload(http, tokens[LEAD], pid, "short.txt", b"a" * 1000)).status_code == 201


async def test_a_completion_naming_an_unknown_document_is_refused_and_writes_nothing(
        http: httpx.AsyncClient, tokens: dict[str, str], app: Coopflow):
    pid = await at_signing(app)
    other = (await start(app))["id"]  # a document of another project does not count
    elsewhere = (await upload(http, tokens["caritas-rs"], other, "copy.pdf", PDF)).json()
    before = len(list(iter_events(app.engine, pid)))
    task = open_task(app, pid, "sign_agreement", "caritas-rs")
    for value in ({"sha256": "f" * 64}, {"sha256": elsewhere["sha256"]}, "not-a-hash"):
        response = await http.post(f"/api/projects/{pid}/tasks/{task}/complete", headers=auth(tokens["caritas-rs"]),
                                   json={"data": {"signatory": "Director", "signed_copy": value}})
        assert response.status_code == 422, response.text
        assert response.json()["error"]["details"] == {"signed_copy": "names no document uploaded to this project"}
    assert len(list(iter_events(app.engine, pid))) == before


async def test_uploads_no_completion_named_are_pruned_when_old(http: httpx.AsyncClient, tokens: dict[str, str],
                                                                 app: Coopflow):
    import os
    import uuid

    from sqlalchemy import text

    from domain import InvalidRequest

    def stored(sha256: str) -> Path:
        root: Path = app.documents.root  # type: ignore[attr-defined]  # a FolderStorage here
        return root / sha256[:2] / sha256

    pid, other = await at_signing(app), (await start(app))["id"]
    caritas, horizon = tokens["caritas-rs"], tokens["horizon-civitas-mk"]
    used = (await upload(http, caritas, pid, "signed.pdf", PDF + uuid.uuid4().bytes)).json()
    task = open_task(app, pid, "sign_agreement", "caritas-rs")
    assert (await http.post(f"/api/projects/{pid}/tasks/{task}/complete", headers=auth(caritas), json={
        "data": {"signatory": "Director", "signed_copy": {"sha256": used["sha256"]}}})).status_code == 200
    draft = (await upload(http, caritas, pid, "draft.png", PNG + uuid.uuid4().bytes)).json()  # never sent
    shared = PNG + uuid.uuid4().bytes  # the same bytes in two projects
    twice = (await upload(http, caritas, pid, "plan.png", shared)).json()
    assert (await upload(http, caritas, other, "plan.png", shared)).json()["sha256"] == twice["sha256"]
    with app.engine.begin() as conn:  # this project's uploads 40 days old (the other project's are new)
        conn.execute(text("UPDATE document SET uploaded_at = '2020-01-01T00:00:00Z' WHERE project_id = :p"),
                     {"p": pid})
    for record in (used, draft, twice):
        os.utime(stored(record["sha256"]), (1577836800, 1577836800))

    async def download(project: str, sha256: str) -> int:
        return (await http.get(f"/api/projects/{project}/documents/{sha256}", headers=auth(caritas))).status_code

    unused = {(d["project_id"], d["sha256"]) for d in app.prune_documents(older_than_days=30, dry_run=True)}
    assert unused == {(pid, draft["sha256"]), (pid, twice["sha256"])}  # not the one a completion named
    assert await download(pid, draft["sha256"]) == 200  # a dry run removes nothing

    removed = app.prune_documents(older_than_days=30)
    assert {(d["project_id"], d["sha256"]) for d in removed} == unused
    assert await download(pid, draft["sha256"]) == 404
    assert not stored(draft["sha256"]).exists()
    assert await download(pid, twice["sha256"]) == 404
    kept = await http.get(f"/api/projects/{other}/documents/{twice['sha256']}", headers=auth(caritas))
    assert kept.status_code == 200 and kept.content == shared  # the other project still names those bytes
    assert await download(pid, used["sha256"]) == 200
    assert app.prune_documents(older_than_days=30) == []  # nothing left to do

    task = open_task(app, pid, "sign_agreement", "horizon-civitas-mk")  # naming a pruned upload: refused
    refused = await http.post(f"/api/projects/{pid}/tasks/{task}/complete", headers=auth(horizon), json={
        "data": {"signatory": "Director", "signed_copy": {"sha256": draft["sha256"]}}})
    assert refused.status_code == 422 and "signed_copy" in refused.json()["error"]["details"], refused.text
    with pytest.raises(InvalidRequest):
        app.prune_documents(older_than_days=0)

    # a project paused by an incident has events the store lacks, which may name its uploads: left alone
    from store import record_incident

    paused = (await upload(http, caritas, other, "minutes.png", PNG + uuid.uuid4().bytes)).json()
    with app.engine.begin() as conn:
        conn.execute(text("UPDATE document SET uploaded_at = '2020-01-01T00:00:00Z' WHERE project_id = :p"),
                     {"p": other})
    record_incident(app.engine, project_id=other, seq=99, since="2020-01-02T00:00:00Z", reason="test")
    assert app.prune_documents(older_than_days=30, dry_run=True) == []
    with app.engine.begin() as conn:
        conn.execute(text("DELETE FROM incident WHERE project_id = :p"), {"p": other})
    assert {d["sha256"] for d in app.prune_documents(older_than_days=30, dry_run=True)} == {
        paused["sha256"], twice["sha256"]}


def _zip_bomb(member: str, inflated_mb: int) -> bytes:
    """A zip of a few hundred KB whose ``member`` inflates to ``inflated_mb`` MB of zeros."""
    out, block = io.BytesIO(), bytes(1024 * 1024)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open(member, "w", force_zip64=True) as inner:
            for _ in range(inflated_mb):
                inner.write(block)
        z.writestr("[Content_Types].xml", "<Types/>")
    return out.getvalue()


def _resident() -> tuple[int, int]:
    """(resident KB now, peak resident KB since the peak was last reset), from /proc."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(status["VmRSS"].split()[0]), int(status["VmHWM"].split()[0])


@pytest.mark.parametrize("member", ["mimetype", "word/document.xml"])
async def test_a_zip_bomb_is_refused_without_inflating_it(http: httpx.AsyncClient, tokens: dict[str, str],
                                                         app: Coopflow, member: str):
    """A zip of some 300 KB whose member inflates to 300 MB: refused (415, saying why) while the process
    grows by far less than the member would (it grew by 600 MB when the member was read whole)."""
    pid = (await start(app))["id"]
    bomb = _zip_bomb(member, 300)
    assert len(bomb) < 400 * 1024
    Path("/proc/self/clear_refs").write_text("5")  # the peak resident size starts again from now
    before, _ = _resident()
    response = await upload(http, tokens[LEAD], pid, "plan.docx", bomb)
    _, peak = _resident()
    print(f"peak resident size grew by {(peak - before) // 1024} MB; answer {response.status_code}")
    assert peak - before < 50 * 1024, f"the upload took {(peak - before) // 1024} MB"
    assert response.status_code == 415, response.text
    error = response.json()["error"]
    assert error["code"] == "unsupported_media_type" and "unpack" in error["message"], error
    assert error["details"] == {"file": "a compressed archive that unpacks to far more than its size"}
