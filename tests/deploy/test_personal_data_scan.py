"""The proof that personal data is sealed and can be forgotten: a return referral with values in Cyrillic
and Albanian through `coopflow dev` (its Temporal dev server, worker and web app, SQLite or PostgreSQL
store), read as the lead, the referred partner and an uninvolved partner, exported, then erased. Every
place data lives is scanned as raw bytes (scripts/scan_personal_data.py): the store's files or a
PostgreSQL dump, Temporal's own database and its histories fetched without the codec, the process's
logs, the outbox and the mails received, the documents folder, an export and a bundle. Before the
erasure the values are there only sealed; after it, nowhere — and the trail still verifies."""

from __future__ import annotations

import json
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.cli.test_cli import Dev, stop
from tests.conftest import PG_ADMIN_URL

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from scan_personal_data import files, postgresql_dump, scan, temporal_histories

pytestmark = pytest.mark.long(50)  # seconds on 2 cores: started first (tests/conftest.py)

CARITAS, HORIZON, DIFFERENT = "caritas-rs", "horizon-civitas-mk", "different-and-equal-al"
NAME, BORN = "Љиљана Петровић", "1989-11-23"
NEEDS = "Strehim për Ljiljanën në Shkodër"
PLAN = "Стан во Кичево, работа во пекара Зорница"
CONSENT = b"%PDF-1.4\n% Deklarate pelqimi: Ljiljana Petrovic, Kicevo\n%%EOF\n"
VALUES = [NAME, "Љиљана", "Петровић", BORN, NEEDS, "Ljiljanën", PLAN, "пекара Зорница",
          "Deklarate pelqimi", "Ljiljana_pelqimi.pdf"]


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The dev stack's store: its own SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    name = f"coopflow_scan_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def places(dev: Dev, web: str, database_url: str | None, *exports: Path) -> list[tuple[str, bytes]]:
    found = list(files([dev.tmp / "data", dev.tmp / "dev.out", dev.tmp / "dev.json", *exports]))
    found.append(("mail received (/dev/mail)", urllib.request.urlopen(f"{web}/dev/mail", timeout=10).read()))
    if database_url:
        found += list(postgresql_dump(database_url))
    return found + temporal_histories(f"127.0.0.1:{dev.port}")


def export(dev: Dev, pid: str, label: str) -> tuple[Path, Path]:
    trail, bundle = dev.tmp / f"trail-{label}.jsonl", dev.tmp / f"bundle-{label}.zip"
    dev.cli("audit", "export", pid, "--format", "jsonl", "--output", str(trail))
    dev.cli("audit", "export", pid, "--format", "bundle", "--output", str(bundle))
    return trail, bundle


def test_a_referral_is_sealed_everywhere_and_forgotten_everywhere(tmp_path: Path, store: str | None):
    dev = Dev(tmp_path)
    dev.env.pop("COOPFLOW_PERSONAL_DATA_KEYS", None)  # as on a newcomer's machine: the data dir's own key
    dev.env |= {"COOPFLOW_LOG_LEVEL": "DEBUG", "COOPFLOW_LOG_FORMAT": "json"}
    if store:
        dev.env["COOPFLOW_DATABASE_URL"] = store
    proc = dev.start("--json")
    try:
        welcome = json.loads((tmp_path / "dev.json").read_text())
        web = welcome["web"]
        token = {u["org"]: u["token"] for u in welcome["users"]}
        with httpx.Client(base_url=web, timeout=60) as http:
            def call(org: str, method: str, path: str, **kw: Any) -> Any:
                got = http.request(method, path, headers={"Authorization": f"Bearer {token[org]}"}, **kw)
                assert got.status_code in (200, 201), (method, path, got.text)
                return got.json()

            lead = "stadt-dortmund"
            pid = call(lead, "POST", "/api/projects", json={"template": "return-referral", "title": "Case 2027-031",
                                                            "partners": [CARITAS, HORIZON, DIFFERENT]})["id"]
            form = call(lead, "POST", f"/api/projects/{pid}/documents", data={"task": "t1", "field": "consent_form"},
                        files={"file": ("Ljiljana_pelqimi.pdf", CONSENT)})
            call(lead, "POST", f"/api/projects/{pid}/tasks/t1/complete", json={"data": {
                "person_name": NAME, "date_of_birth": BORN, "consent": True, "consent_on": "2026-01-04",
                "consent_form": {"sha256": form["sha256"]}}})
            call(lead, "POST", f"/api/projects/{pid}/tasks/t2/complete", json={"data": {"partner": HORIZON,
                                                                                          "needs": NEEDS}})
            call(HORIZON, "POST", f"/api/projects/{pid}/tasks/t3/complete", json={"outcome": "accept"})
            plan = next(t for t in call(HORIZON, "GET", "/api/tasks") if t["project_id"] == pid)
            call(HORIZON, "POST", f"/api/projects/{pid}/tasks/{plan['id']}/complete", json={"data": {"plan": PLAN}})

            # read as those involved (in clear) and as one who is not (nothing of the person)
            for org in (lead, HORIZON):
                shown = json.dumps(call(org, "GET", f"/api/projects/{pid}"), ensure_ascii=False)
                assert NAME in shown and NEEDS in shown and PLAN in shown, org
            assert not any(v in json.dumps(call(CARITAS, "GET", f"/api/projects/{pid}"), ensure_ascii=False)
                           for v in VALUES)
            assert call(lead, "GET", f"/api/projects/{pid}/personal-data")["values"]

            before = export(dev, pid, "before")
            report = scan(places(dev, web, store, *before), VALUES)
            leaks = {name: found["plain"] for name, found in report.items() if found["plain"]}
            assert not leaks, f"in clear before the erasure: {leaks}"
            sealed = {name for name, found in report.items() if found["sealed"]}
            assert any(n.startswith("history ") for n in sealed) and any("trail-before" in n for n in sealed)
            assert any(("coopflow.db" in n or n.startswith("pg_dump")) for n in sealed), "the store: sealed"

            erased = call(lead, "POST", f"/api/projects/{pid}/personal-data/erase",
                          json={"reason": "The person withdrew consent"})
            assert erased["values"] == 4 and erased["documents"] == 1
            after = export(dev, pid, "after")
            report = scan(places(dev, web, store, *before, *after), VALUES)
            leaks = {name: found["plain"] for name, found in report.items() if found["plain"]}
            assert not leaks, f"in clear after the erasure: {leaks}"
            assert not (tmp_path / "data" / "documents").exists() or not [
                p for p in (tmp_path / "data" / "documents").rglob("*") if p.is_file()], "the sealed document is gone"

        for trail, bundle in (before, after):  # what was exported before still verifies, as does the rest
            dev.cli("audit", "verify", "--file", str(trail))
            dev.cli("audit", "verify", "--file", str(bundle))
        assert "OK" in dev.cli("audit", "verify", pid).stdout
    finally:
        assert stop(proc) == 0
