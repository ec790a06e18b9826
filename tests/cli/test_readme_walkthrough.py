"""The README's walk-through, as a newcomer types it after `make run`, against `coopflow dev` on free ports
(a file of its own: it starts its own `coopflow dev`, and the test run spreads files over its processes)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_cli import COOPFLOW, LEAD, PARTNERS, Dev, dev, stop
from tests.utils.scenario import SAMPLE_DATA

pytestmark = pytest.mark.long(35)  # seconds on 2 cores: started first (tests/conftest.py)

__all__ = ["dev"]


def readme_walkthrough() -> str:
    """The README's first shell block under "Take the demo project through its first phase", as printed."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Take the demo project through its first phase", 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


def readme_curl_commands() -> list[str]:
    """Every curl command of the README, its continuation lines joined."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text().replace("\\\n", " ")
    return [line.strip() for line in readme.splitlines() if line.strip().startswith("curl ")]


def test_the_readme_walkthrough_runs_as_written_after_the_browser_was_used(dev: Dev):
    """Someone tried the web first: another project is running, in which the partners owe other steps. The
    walk-through still completes its own project's tasks; its curl examples follow `PORT=`."""
    (dev.tmp / ".venv").symlink_to(Path(COOPFLOW).parent.parent)
    proc = dev.start()
    try:
        earlier = dev.json("project", "start", "--as", LEAD, "--title", "Tried in the browser",
                           *[a for p in reversed(PARTNERS) for a in ("--partner", p)])
        dev.json("task", "complete", earlier["id"], "t1", "--as", LEAD,
                 "--data", json.dumps(SAMPLE_DATA["concept_note"]))
        done = subprocess.run(["bash", "-e", "-c", readme_walkthrough()], cwd=dev.tmp, env=dev.env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        started = [p for p in dev.json("project", "list") if p["title"] == "Return counselling pilot"]
        assert [p["phase"] for p in started] == ["partner_agreement"]
        welcome = (dev.tmp / "dev.out").read_text()
        token = next(line.split("token ")[1] for line in welcome.splitlines() if LEAD in line and "token" in line)
        curls = readme_curl_commands()
        assert curls and all("localhost:8000" not in c for c in curls), [c for c in curls if "localhost:8000" in c]
        (tasks,) = [c for c in curls if c.endswith("/api/tasks")]
        env = {**dev.env, "PORT": str(dev.web_port), "TOKEN": token.strip()}
        listed = subprocess.run(["bash", "-c", tasks], cwd=dev.tmp, env=env, capture_output=True, text=True,
                                timeout=60)
        assert listed.returncode == 0 and json.loads(listed.stdout), listed.stderr
    finally:
        assert stop(proc) == 0
