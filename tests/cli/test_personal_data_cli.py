"""`coopflow personal-data …` as subprocesses against `coopflow dev`: the person's copy, a new
key-encryption key and the rewrapping of every data key, and the erasure — who may, again, and after."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.seed import demo_email
from tests.cli.test_cli import Dev, stop

pytestmark = pytest.mark.long(32)  # seconds on 2 cores: started first (tests/conftest.py)

LEAD, HORIZON = demo_email("stadt-dortmund"), demo_email("horizon-civitas-mk")
NAME, NEEDS = "Дритон Красниqi", "Punë dhe strehim në Tetovë"


def test_the_persons_copy_key_rotation_and_erasure_from_the_command_line(tmp_path: Path):
    dev = Dev(tmp_path)
    dev.env.pop("COOPFLOW_PERSONAL_DATA_KEYS", None)  # the data dir's own key, made by coopflow dev
    proc = dev.start()
    try:
        pid = dev.json("project", "start", "--as", LEAD, "--title", "Case 2027-077", "--template", "return-referral",
                       "--partner", "caritas-rs", "--partner", "horizon-civitas-mk")["id"]
        dev.cli("task", "complete", pid, "t1", "--as", LEAD, "--data", json.dumps(
            {"person_name": NAME, "consent": True, "consent_on": "2026-01-04"}))
        dev.cli("task", "complete", pid, "t2", "--as", LEAD, "--data", json.dumps(
            {"partner": "horizon-civitas-mk", "needs": NEEDS}))

        reads = len(json.loads(dev.cli("personal-data", "export", pid, "--as", LEAD).stdout)["reads"])
        text = dev.cli("project", "show", pid, "--as", HORIZON).stdout  # no values in the text: no reading
        assert "personal data: sealed, kept (values: --json)" in text and NAME not in text
        copy = json.loads(dev.cli("personal-data", "export", pid, "--as", LEAD).stdout)
        assert {v["value"] for v in copy["values"]} == {NAME, NEEDS} and copy["status"] == "kept"
        assert len(copy["reads"]) == reads + 1, "the export before was recorded; the text show was not"
        refused = dev.cli("personal-data", "export", pid, "--as", HORIZON, ok=False)
        assert refused.returncode == 1 and "Only a coordinator of the lead organisation" in refused.stderr

        # a new key-encryption key first, the old one after it; every data key rewrapped; then the new one alone
        old = (tmp_path / "data" / "personal-data.keys").read_text().strip()
        new = dev.cli("personal-data", "new-key", "--id", "kek2").stdout.strip()
        assert new.startswith("kek2:") and new != old
        dev.env["COOPFLOW_PERSONAL_DATA_KEYS"] = f"{new},{old}"
        assert json.loads(dev.cli("personal-data", "rewrap", "--json").stdout) == {
            "kek": "kek2", "rewrapped": 1, "current": 0, "unopened": []}
        assert "Rewrapped 0 data key(s) with kek2; 1 already were." in dev.cli("personal-data", "rewrap").stdout
        dev.env["COOPFLOW_PERSONAL_DATA_KEYS"] = new
        shown = dev.json("project", "show", pid, "--as", LEAD)
        assert next(t for t in shown["tasks"] if t["id"] == "t1")["data"]["person_name"] == NAME
        dev.env["COOPFLOW_PERSONAL_DATA_KEYS"] = old  # the old key alone opens nothing any more, and says so
        locked = dev.cli("project", "show", pid, "--as", LEAD, "--json", ok=False)
        assert locked.returncode == 1 and "'kek2', which this process does not have" in locked.stderr
        dev.env["COOPFLOW_PERSONAL_DATA_KEYS"] = new

        assert "a reason" in dev.cli("personal-data", "erase", pid, "--as", LEAD, "--reason", " ", ok=False).stderr
        assert "Only a coordinator" in dev.cli("personal-data", "erase", pid, "--as", HORIZON, "--reason", "x",
                                               ok=False).stderr
        erased = dev.cli("personal-data", "erase", pid, "--as", LEAD, "--reason", "The person asked").stdout
        assert f"Erased the personal data of project {pid} at " in erased and "2 value(s), 0 document(s)" in erased
        again = dev.json("personal-data", "erase", pid, "--as", LEAD, "--reason", "again")
        assert again["erased_at"] in erased, "the first erasure stands"
        shown = dev.json("project", "show", pid, "--as", LEAD)
        assert shown["status"] == "cancelled" and shown["personal_data"]["status"] == "erased"
        assert f"personal data: ERASED at {again['erased_at']} by stadt-dortmund (coordinator): The person asked" \
            in dev.cli("project", "show", pid, "--as", LEAD).stdout
        assert next(t for t in shown["tasks"] if t["id"] == "t1")["erased_fields"] == ["person_name"]
        assert json.loads(dev.cli("personal-data", "export", pid, "--as", LEAD).stdout)["values"] == []
        assert "OK" in dev.cli("audit", "verify", pid).stdout
    finally:
        assert stop(proc) == 0
