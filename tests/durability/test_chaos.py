"""The chaos benchmark's small variant: 20 projects through the whole lifecycle over HTTP while the
worker goes every 5 s (SIGKILLed, or every second time told to stop with SIGTERM), Temporal is
killed once, and the store's line is cut for 15 s (bench/chaos.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN_URL

pytestmark = pytest.mark.long(70)  # seconds on 2 cores: started first (tests/conftest.py)

CHAOS = Path(__file__).parent.parent.parent / "bench" / "chaos.py"


@pytest.mark.timeout(900)  # about 50 s here; CI machines can be several times slower
def test_twenty_projects_through_chaos_lose_and_double_nothing():
    done = subprocess.run([sys.executable, str(CHAOS), "--projects", "20", "--clients", "10", "--store-cut", "15",
                           "--temporal-kill-after", "100", "--store-cut-after", "250", "--deadline", "900",
                           "--database-url", PG_ADMIN_URL, "--json"],
                          capture_output=True, text=True, timeout=850)
    assert done.stdout, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["projects"] == {"finished": 20, "expected": 20}, summary
    assert (summary["events lost"], summary["events doubled"], summary["chains broken"],
            summary["store-vs-workflow disagreements"]) == (0, 0, 0, 0), summary
    assert summary["completions acknowledged"] > 500
    kinds = summary["faults"]  # each struck while the clients were still at work
    assert kinds.get("worker killed", 0) >= 2 and kinds.get("worker stopped (SIGTERM)", 0) >= 2, kinds
    assert kinds.get("Temporal killed") == 1, kinds
    assert kinds.get("store cut for 15 s") == 1, kinds
    assert done.returncode == 0 and summary["ok"]
