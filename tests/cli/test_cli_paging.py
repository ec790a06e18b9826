"""The command line lists everything, whatever the pages (the store's lists page at 500), or the first
``--limit``."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from store import make_engine, upgrade
from tests.cli.test_cli import COOPFLOW
from tests.utils.paging import new_org, store_project


def test_lists_give_every_item_or_the_first_limit(tmp_path: Path, monkeypatch):
    monkeypatch.setattr("services.lists.MAX_LIMIT", 2)  # for the in-process half below: pages of two
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    lead, partner = new_org(engine, "coordinator"), new_org(engine, "partner")
    made = [store_project(engine, lead=lead.id, partners=[partner.id], minutes=m, until_step="letter_of_intent")[0]
            for m in (3, 1, 2)]
    expected = [p.id for p in sorted(made, key=lambda p: (p.started_at, p.id))]
    env = {**os.environ, "COOPFLOW_DATABASE_URL": url}

    def cli(*args: str) -> list[dict[str, object]]:
        done = subprocess.run([COOPFLOW, *args, "--json"], env=env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        found: list[dict[str, object]] = json.loads(done.stdout)
        return found

    assert [p["id"] for p in cli("project", "list", "--as", lead.email)] == expected
    assert [p["id"] for p in cli("project", "list", "--as", lead.email, "--limit", "2")] == expected[:2]
    assert len(cli("tasks", "--as", partner.email)) == 3
    assert len(cli("tasks", "--as", partner.email, "--limit", "1")) == 1
    assert len(cli("audit", "events", made[0].id, "--limit", "4")) == 4
    from services.app import Coopflow

    app = Coopflow(engine=engine, client=None, task_queue="unused")  # type: ignore[arg-type]
    assert [p["id"] for p in app.every_project(lead.actor)] == expected  # two pages of two, followed
    assert len(app.list_tasks(partner.actor)) == 3
