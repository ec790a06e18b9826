"""The CLI end to end, in subprocesses, against `coopflow dev` on free ports."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.devstack import free_port
from services.seed import demo_email
from store.migrate import head_revision
from tests.utils.scenario import SAMPLE_DATA

pytestmark = pytest.mark.long(160)  # seconds on 2 cores: started first (tests/conftest.py)

COOPFLOW = str(Path(sys.executable).parent / "coopflow")
LEAD = demo_email("stadt-dortmund")
PARTNERS = ["caritas-rs", "horizon-civitas-mk", "different-and-equal-al"]


class Dev:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.web_port = free_port()
        self.env = {**os.environ, "COOPFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{self.port}",
                    "COOPFLOW_DATA_DIR": str(tmp / "data"), "COOPFLOW_TASK_QUEUE": "coopflow"}
        self.env.pop("COOPFLOW_DATABASE_URL", None)

    def start(self, *extra: str) -> subprocess.Popen[str]:
        """Start `coopflow dev`; with --json its stdout (dev.json) holds only the welcome object."""
        as_json = "--json" in extra
        self.out = (self.tmp / "dev.out").open("w+")
        stdout = (self.tmp / "dev.json").open("w+") if as_json else self.out
        proc = subprocess.Popen(
            [COOPFLOW, "dev", "--temporal-port", str(self.port), "--port", str(self.web_port),
             "--data-dir", str(self.tmp / "data"), *extra],
            cwd=self.tmp, env=self.env, stdout=stdout, stderr=self.out, text=True)
        ready = (lambda: (self.tmp / "dev.json").read_text().rstrip().endswith("}")) if as_json else (
            lambda: "Press Ctrl-C to stop." in (self.tmp / "dev.out").read_text())
        deadline = time.monotonic() + 60
        while not ready():
            assert proc.poll() is None, (self.tmp / "dev.out").read_text()
            assert time.monotonic() < deadline, "coopflow dev did not come up"
            time.sleep(0.1)
        return proc

    def cli(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([COOPFLOW, *args], cwd=self.tmp, env=self.env, capture_output=True, text=True,
                              timeout=60)
        if ok:
            assert done.returncode == 0, done.stderr
        return done

    def json(self, *args: str) -> Any:
        done = self.cli(*args, "--json")
        return json.loads(done.stdout)


def stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGINT)
    return proc.wait(timeout=30)


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Dev]:
    yield Dev(tmp_path)


def test_cli_scenario_against_coopflow_dev(dev: Dev):
    # as after `make run`: the virtual environment is not on the PATH
    venv_bin = str(Path(COOPFLOW).parent)
    dev.env["PATH"] = os.pathsep.join(p for p in dev.env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    proc = dev.start()
    try:
        welcome = (dev.tmp / "dev.out").read_text()
        assert LEAD in welcome and "token cf_" in welcome and f"Web http://127.0.0.1:{dev.web_port}" in welcome
        health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{dev.web_port}/api/health").read())
        assert health == {"status": "ok", "temporal": "ok", "store": "ok"}
        token = next(line.split("token ")[1] for line in welcome.splitlines() if LEAD in line and "token" in line)
        request = urllib.request.Request(f"http://127.0.0.1:{dev.web_port}/api/templates",
                                         headers={"Authorization": f"Bearer {token}"})
        assert json.loads(urllib.request.urlopen(request).read())[0]["id"] == "cooperation"
        project = dev.json("project", "start", "--as", LEAD, "--title", "Return counselling pilot",
                           *[a for p in PARTNERS for a in ("--partner", p)])
        pid = project["id"]
        assert project["status"] == "active" and project["partners"] == PARTNERS
        # the welcome's example commands run as printed, in another terminal in the same folder
        example = next(line.strip() for line in welcome.splitlines() if " tasks --as " in line)
        shown = subprocess.run(["bash", "-c", example], cwd=dev.tmp, env=dev.env, capture_output=True, text=True)
        assert shown.returncode == 0 and "concept_note" in shown.stdout, (example, shown.stderr)

        # the first phase, each task by its own organisation, as the README shows it
        (concept,) = dev.json("tasks", "--as", LEAD)
        bad = dev.cli("task", "complete", pid, concept["id"], "--as", LEAD, "--data", '{"summary": ""}', ok=False)
        assert bad.returncode == 1 and "summary: is required" in bad.stderr and "Traceback" not in bad.stderr
        dev.json("task", "complete", pid, concept["id"], "--as", LEAD,
                 "--data", json.dumps(SAMPLE_DATA["concept_note"]))
        for org in PARTNERS:
            (letter,) = dev.json("tasks", "--as", demo_email(org))
            wrong = dev.cli("task", "complete", pid, letter["id"], "--as", LEAD, "--data", "{}", ok=False)
            assert wrong.returncode == 1 and "is assigned to organisation" in wrong.stderr
            done = dev.json("task", "complete", pid, letter["id"], "--as", demo_email(org),
                            "--data", json.dumps(SAMPLE_DATA["letter_of_intent"]))
            assert done["status"] == "completed" and done["completed_by"]["org"] == org
        (submitted,) = dev.json("tasks", "--as", LEAD)
        dev.json("task", "complete", pid, submitted["id"], "--as", LEAD,
                 "--data", json.dumps(SAMPLE_DATA["application_submitted"]))
        (decision,) = dev.json("tasks", "--as", LEAD)
        dev.json("task", "complete", pid, decision["id"], "--as", LEAD, "--outcome", "approved")

        shown = dev.json("project", "show", pid)
        assert shown["phase"] == "partner_agreement"
        events = dev.json("audit", "events", pid)
        assert events[0]["type"] == "ProjectStarted" and "PhaseCompleted" in [e["type"] for e in events]
        check = dev.json("audit", "verify", pid)
        assert check["ok"] and check["count"] == len(events)
        human = dev.cli("audit", "verify", pid).stdout
        assert human.startswith(f"OK: {len(events)} events")
        past = dev.json("project", "show", pid, "--as-of", events[2]["at"])
        assert past["phase"] == "funding_application"

        # the auditor's tools
        decisions = dev.json("audit", "events", pid, "--type", "DecisionRecorded")
        assert [e["data"]["outcome"] for e in decisions] == ["approved"]
        by_caritas = dev.json("audit", "events", pid, "--actor", demo_email("caritas-rs"))
        assert by_caritas and {e["actor"]["org"] for e in by_caritas} == {"caritas-rs"}
        assert dev.json("audit", "verify", pid, "--against-history")["history"]["available"] is True
        summary = dev.json("audit", "verify", "--all")
        assert summary["ok"] and summary["projects"] == 1 and summary["events"] == len(events)
        export = dev.tmp / "trail.jsonl"
        done = dev.cli("audit", "export", pid, "--format", "jsonl", "--output", str(export))
        assert f"Exported {len(events)} events" in done.stderr
        offline = {**dev.env, "COOPFLOW_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
        checked = subprocess.run([COOPFLOW, "audit", "verify", "--file", str(export), "--json"], env=offline,
                                 capture_output=True, text=True, timeout=60)
        assert checked.returncode == 0 and json.loads(checked.stdout)["count"] == len(events)
        lines = export.read_text().splitlines()
        lines[3] = lines[3].replace('"StepCompleted"', '"StepWaived"')
        export.write_text("\n".join(lines) + "\n")
        broken = subprocess.run([COOPFLOW, "audit", "verify", "--file", str(export)], env=offline,
                                capture_output=True, text=True, timeout=60)
        assert broken.returncode == 1 and "seq 4: changed" in broken.stdout
        csv_text = dev.cli("audit", "export", pid, "--format", "csv").stdout
        assert csv_text.splitlines()[0].startswith("\ufeffseq,type,at,actor_user,actor_email") and LEAD in csv_text
    finally:
        assert stop(proc) == 0
    assert "coopflow dev stopped." in (dev.tmp / "dev.out").read_text()

    # a second `coopflow dev` finds its data again; --json gives scripts the welcome as an object
    proc = dev.start("--json")
    try:
        welcome = json.loads((dev.tmp / "dev.json").read_text())
        assert welcome["status"] == "running" and welcome["web"] == f"http://127.0.0.1:{dev.web_port}"
        assert welcome["users"] == [] and welcome["temporal"] == f"127.0.0.1:{dev.port}"
        assert dev.json("project", "show", pid)["phase"] == "partner_agreement"
        (draft,) = dev.json("tasks", "--as", LEAD)
        assert draft["step"] == "draft_agreement"

        # many CLI runs in a row that use the Temporal client: none may crash at exit
        codes = [dev.cli("task", "complete", pid, draft["id"], "--as", LEAD, "--data", "{}", ok=False).returncode
                 for _ in range(12)]
        assert codes == [1] * 12
    finally:
        assert stop(proc) == 0


def test_a_missing_or_unmigrated_store_is_refused_until_db_upgrade(dev: Dev):
    store = dev.tmp / "data" / "coopflow.db"
    for args in (["worker"], ["org", "list"], ["tasks", "--as", "a@b.org"]):
        done = dev.cli(*args, ok=False)
        assert done.returncode == 1 and f"No coopflow store at {store}" in done.stderr, done.stderr
        assert "COOPFLOW_DATA_DIR=" in done.stderr and "COOPFLOW_DATABASE_URL=" in done.stderr
    assert not store.exists(), "a command run in the wrong place creates no empty store"
    store.parent.mkdir(parents=True)
    sqlite3.connect(store).close()  # a database that is there but was never migrated
    for args in (["worker"], ["org", "list"], ["tasks", "--as", "a@b.org"]):
        done = dev.cli(*args, ok=False)
        assert done.returncode == 1 and "has no coopflow schema yet. Run `coopflow db upgrade` first" in done.stderr
    upgraded = dev.json("db", "upgrade")
    assert upgraded["from"] is None and upgraded["to"] == head_revision()
    assert dev.json("db", "upgrade")["from"] == head_revision()
    assert dev.json("org", "list") == []


def test_bad_input_never_shows_a_traceback(dev: Dev):
    dev.cli("db", "upgrade")
    for args, expected in [
        (["project", "show", "nope"], "There is no project 'nope'"),
        (["tasks", "--as", "nobody@example.org"], "There is no user with e-mail nobody@example.org"),
        (["org", "add", "Bad Id", "--name", "X", "--country", "DE"], "is not a valid organisation id"),
        (["user", "add", "a@b.org", "--org", "nope", "--role", "partner"], "There is no organisation 'nope'"),
        (["task", "complete", "p", "t1", "--as", "a@b.org", "--data", "{oops"], "not valid JSON"),
        (["project", "start", "--as", "a@b.org", "--title", "T", "--partner", "x"], "There is no user"),
    ]:
        done = dev.cli(*args, ok=False)
        assert done.returncode in (1, 2) and expected in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""
    added = dev.json("org", "add", "caritas-rs", "--name", "Caritas", "--country", "rs")
    assert added == {"id": "caritas-rs", "name": "Caritas", "country": "RS"}
    user = dev.json("user", "add", "Ana@Example.org", "--org", "caritas-rs", "--role", "partner")
    assert user["email"] == "ana@example.org" and user["token"].startswith("cf_")
    again = dev.cli("user", "add", "ana@example.org", "--org", "caritas-rs", "--role", "partner", ok=False)
    assert again.returncode == 1 and "exists already" in again.stderr
    short = dev.cli("user", "password", "ana@example.org", "--password", "short", ok=False)
    assert short.returncode == 1 and "at least 8 characters" in short.stderr
    changed = dev.json("user", "password", "ana@example.org", "--password", "a long new password")
    assert changed == {"email": "ana@example.org", "sessions_ended": 0}


def test_incident_commands_say_when_there_is_nothing_to_do(dev: Dev):
    dev.cli("db", "upgrade")
    assert dev.cli("incident", "list").stdout.startswith("No incidents")
    assert dev.json("incident", "list") == []


def test_documents_prune_says_what_it_would_remove_and_refuses_a_bad_age(dev: Dev):
    dev.cli("db", "upgrade")
    assert dev.cli("documents", "prune", "--dry-run").stdout.startswith("No unused documents that old.")
    assert dev.json("documents", "prune") == []
    refused = dev.cli("documents", "prune", "--older-than-days", "0", ok=False)
    assert refused.returncode == 2 and "--older-than-days" in refused.stderr and "Traceback" not in refused.stderr
