"""`coopflow task hold` and `coopflow me substitute` as subprocesses against `coopflow dev`, and `coopflow user
remove` freeing what the removed user held."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.seed import demo_email
from tests.cli.test_cli import Dev, stop
from tests.utils.scenario import SAMPLE_DATA

pytestmark = pytest.mark.long(37)  # seconds on 2 cores: started first (tests/conftest.py)

LEAD = demo_email("stadt-dortmund")
ANA, MARKO = "ana@caritas.example", "marko@caritas.example"


def test_hold_hand_on_release_substitute_and_remove_from_the_command_line(tmp_path: Path):
    dev = Dev(tmp_path)
    proc = dev.start()
    try:
        for email, name in ((ANA, "Ana Petrović"), (MARKO, "Marko Jovanović")):
            dev.cli("user", "add", email, "--org", "caritas-rs", "--role", "partner", "--name", name)
        pid = dev.json("project", "start", "--as", LEAD, "--title", "Return counselling", "--partner", "caritas-rs",
                       "--partner", "horizon-civitas-mk")["id"]
        dev.cli("task", "complete", pid, "t1", "--as", LEAD, "--data", json.dumps(SAMPLE_DATA["concept_note"]))
        tid = next(t["id"] for t in dev.json("tasks", "--as", ANA) if t["project_id"] == pid)

        taken = dev.json("task", "hold", pid, tid, "--as", ANA)
        assert taken["holder"]["name"] == "Ana Petrović"
        said = dev.cli("task", "hold", pid, tid, "--as", ANA, "--to", MARKO).stdout
        assert "Held by Marko Jovanović." in said
        assert "held by Marko Jovanović" in dev.cli("tasks", "--as", ANA).stdout
        assert [t["id"] for t in dev.json("tasks", "--as", MARKO, "--holder", "me")] == [tid]
        assert tid not in [t["id"] for t in dev.json("tasks", "--as", ANA, "--holder", "none")]
        assert dev.json("task", "hold", pid, tid, "--as", LEAD, "--release")["holder"] is None
        refused = dev.cli("task", "hold", pid, tid, "--as", ANA, "--to", demo_email("horizon-civitas-mk"), ok=False)
        assert refused.returncode == 1 and "cannot hold task" in refused.stderr and "user:" in refused.stderr
        both = dev.cli("task", "hold", pid, tid, "--as", ANA, "--to", MARKO, "--release", ok=False)
        assert both.returncode != 0 and "not both" in both.stderr

        today = datetime.now(UTC).date()
        named = dev.json("me", "substitute", "--as", MARKO, "--user", ANA, "--from", today.isoformat(),
                         "--until", (today + timedelta(days=3)).isoformat())
        assert (named["user"], named["name"], named["active"]) == (ANA, "Ana Petrović", True)
        assert "Substitute: Ana Petrović" in dev.cli("me", "substitute", "--as", MARKO).stdout
        backwards = dev.cli("me", "substitute", "--as", MARKO, "--user", ANA, "--from", "2099-02-02",
                            "--until", "2099-02-01", ok=False)
        assert backwards.returncode == 1 and "until:" in backwards.stderr
        assert dev.json("me", "substitute", "--as", MARKO, "--end") == {"ended": True}
        assert dev.json("me", "substitute", "--as", MARKO) is None

        dev.cli("task", "hold", pid, tid, "--as", ANA)
        removed = dev.json("user", "remove", ANA)
        assert (removed["status"], removed["tasks_freed"]) == ("removed", 1)
        task = next(t for t in dev.json("project", "show", pid, "--as", LEAD)["tasks"] if t["id"] == tid)
        assert task["holder"] is None
        assert dev.cli("audit", "verify", pid).returncode == 0
    finally:
        stop(proc)
