"""A project of more than 10,000 tasks runs to its end: it continues as new many times, what each run hands
to the next stays small (its open tasks, a tally, the template's reference), every run replays, and the trail
verifies. Fifty partners report in cycles (``tests/fixtures/long-running.v1.yaml``): each cycle one partner
files its report, and the lead's decision starts the next cycle, which supersedes the reports still open."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from domain import Actor, verify_chain
from services.app import Coopflow
from services.sealing import KeyEncryptionKeys
from store.accounts import add_org
from templates import TemplateRegistry
from tests.utils.app import LEAD, actor
from tests.utils.histories import replayed, run_histories
from worker import build_worker

FIXTURES = Path(__file__).parent.parent / "fixtures"
PARTNERS = 50
CYCLES = 193  # 52 tasks a cycle (the lead's opening, 50 reports, the decision): 10,036 tasks
CARRIED_MOST = 200 * 1024


async def test_a_project_of_ten_thousand_tasks_runs_to_its_end(
        skipping_env: WorkflowEnvironment, sqlite_engine: Engine, key_encryption_keys: KeyEncryptionKeys):
    began = time.monotonic()
    prefix = f"cyc{uuid.uuid4().hex[:6]}"
    orgs = [f"{prefix}-ngo-{i}" for i in range(PARTNERS)]
    for org in orgs:
        add_org(sqlite_engine, org_id=org, name=f"Partner {org}", country="RS")
    registry = TemplateRegistry(FIXTURES)
    task_queue = f"tq-{uuid.uuid4()}"
    async with build_worker(skipping_env.client, sqlite_engine, task_queue, templates=registry):
        app = Coopflow(engine=sqlite_engine, client=skipping_env.client, task_queue=task_queue,
                       key_encryption_keys=key_encryption_keys, templates=registry)
        lead = actor(app, LEAD)
        project = await app.start_project(lead, title="Ten thousand tasks", partners=orgs, template="long-running",
                                          history_limit=600)
        pid, first = project["id"], 1
        for cycle in range(CYCLES):
            opening = await app.complete_task(lead, pid, f"t{first}", data={"note": f"cycle {cycle + 1}"})
            assert opening["step"] == "open_cycle" and opening["round"] == cycle + 1
            org = cycle % PARTNERS  # one partner files; the others' reports are superseded
            filed = await app.complete_task(Actor(user=f"u-{orgs[org]}", org=orgs[org], role="partner"), pid,
                                            f"t{first + 1 + org}", data={"summary": "On track"})
            assert filed["step"] == "cycle_report" and filed["assignee"] == orgs[org]
            last = cycle == CYCLES - 1
            decided = await app.complete_task(lead, pid, f"t{first + PARTNERS + 1}",
                                              outcome="finish" if last else "next_cycle")
            assert decided["step"] == "cycle_decision"
            first += PARTNERS + 2
        played = time.monotonic() - began

        assert app.show_project(lead, pid)["status"] == "completed"
        with sqlite_engine.connect() as connection:
            statuses = dict(connection.execute(text(
                "SELECT status, count(*) FROM task WHERE project_id = :p GROUP BY status"), {"p": pid}).all())
        assert sum(statuses.values()) >= 10_000 and statuses.get("open", 0) == 0
        assert statuses["completed"] == 3 * CYCLES and statuses["superseded"] == sum(statuses.values()) - 3 * CYCLES

        events = list(app.list_events(actor(app, "auditor"), pid))
        check = verify_chain(events)
        assert check["ok"] and check["count"] == len(events) == events[-1]["seq"]

        histories = await replayed(await run_histories(app.client, pid))
        carried = []
        for history in histories:
            for event in history.events:
                if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
                    attributes = event.workflow_execution_continued_as_new_event_attributes
                    carried.append(sum(len(p.data) for p in attributes.input.payloads))
        assert len(histories) >= 4 and len(carried) == len(histories) - 1
        assert max(carried) < CARRIED_MOST, carried
        print(f"\n{sum(statuses.values())} tasks, {len(events)} events, {len(histories)} runs; carried at most "
              f"{max(carried) // 1024} KB; played in {played:.0f} s, in all {time.monotonic() - began:.0f} s")
