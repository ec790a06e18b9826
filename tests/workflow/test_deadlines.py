"""Deadlines and recurring reports on the time-skipping server: no sleeps, real durable timers."""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from domain import parse_time
from services.app import Coopflow
from tests.utils.app import PARTNERS, actor, play, start


async def test_a_report_left_open_31_days_records_deadline_missed(skipping_env: WorkflowEnvironment,
                                                                  skipping_app: Coopflow):
    app = skipping_app
    project = await start(app, parameters={"report_count": 3, "report_every": "P1M"})
    pid = project["id"]
    await play(app, pid, loops=False, until_step="progress_report")
    reports = [t for t in app.show_project(actor(app, "auditor"), pid)["tasks"] if t["step"] == "progress_report"]
    assert [(t["occurrence"], t["status"]) for t in reports] == [(1, "open")] * len(PARTNERS)
    opened = parse_time(reports[0]["opened_at"])

    await skipping_env.sleep(timedelta(days=31))
    # sync returns once what fell due has happened and is in the store
    await app.client.get_workflow_handle(f"project-{pid}").execute_update("sync")

    events = list(app.list_events(actor(app, "auditor"), pid))
    missed = [e for e in events if e["type"] == "DeadlineMissed" and e["step"] == "progress_report"]
    assert sorted(e["task_id"] for e in missed) == sorted(t["id"] for t in reports)
    assert all(e["actor"] is None and parse_time(e["at"]) >= opened + timedelta(days=30) for e in missed)
    tasks = {t["id"]: t for t in app.show_project(actor(app, "auditor"), pid)["tasks"]}
    assert all(tasks[r["id"]]["status"] == "open" and tasks[r["id"]]["deadline_missed"] for r in reports)
    # the second occurrence opened by its durable timer one month after the first
    second = [t for t in tasks.values() if t["step"] == "progress_report" and t["occurrence"] == 2]
    assert len(second) == len(PARTNERS)
    # a missed deadline is not a failure: the late report is still accepted
    late = reports[0]
    done = await app.complete_task(actor(app, late["assignee"]), pid, late["id"], data={
        "period": "month 1", "activities": "late but done", "people_reached": 3})
    assert done["status"] == "completed" and done["deadline_missed"] is True
