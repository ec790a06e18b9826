"""The repository documents itself: generated references are current, every event type and every
setting is described, and nothing points readers at files they do not have."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from domain import EVENT_TYPES
from settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_the_generated_cli_and_api_references_are_current():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_docs.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_every_event_type_is_described():
    documented = set(re.findall(r"^\| `(\w+)` \|", (ROOT / "docs" / "events.md").read_text(), re.M))
    assert set(EVENT_TYPES) <= documented, set(EVENT_TYPES) - documented


def test_every_setting_is_in_the_readme():
    readme = (ROOT / "README.md").read_text() + (ROOT / "docs" / "production.md").read_text() \
        if (ROOT / "docs" / "production.md").exists() else (ROOT / "README.md").read_text()
    missing = []
    for name in Settings.model_fields:
        env = f"COOPFLOW_{name.upper()}"
        prefix, _, suffix = env.rpartition("_")
        if env not in readme and f"{prefix}_…" not in readme and f"`_{suffix}`" not in readme:
            missing.append(env)
    assert not missing, f"settings without documentation: {missing}"


def test_no_document_points_outside_the_repository():
    for path in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        text = path.read_text()
        assert "../shared" not in text and "CONTRACT.md" not in text, path.name
