"""A digest day on the time-skipping server: a person who chose the daily digest in Europe/Belgrade gets one
mail at 07:00 local time listing what is overdue, soon due and new, in their language; a day with nothing to
say sends nothing; a worker restart in between sends nothing twice; a colleague with immediate mail still gets
each new task at once, and reminders and overdue notices still reach the daily reader when the template says."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.digests import send_digests
from activities.sender import MailSender, Smtp
from domain import Actor, parse_time
from services.app import Coopflow
from services.devstack import MailSink
from services.digests import ensure_digests
from store import accounts
from store.digests import digests_of
from store.outbox import list_mail
from store.pinned import PinnedTemplates
from store.preferences import set_preferences
from tests.utils.app import actor
from tests.utils.scenario import SAMPLE_DATA
from worker import build_worker, workflow_runner
from workflows.digests import WORKFLOW_ID, DigestWorkflow

BELGRADE = ZoneInfo("Europe/Belgrade")
PUBLIC = "https://coopflow.example"


def next_local(now: datetime, hour: int) -> datetime:
    """The next ``hour``:00 in Belgrade after ``now``."""
    local = now.astimezone(BELGRADE)
    target = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    return target if target > local else target + timedelta(days=1)


async def letter(app: Coopflow, org: str) -> tuple[str, str]:
    """A project with ``org`` as its one partner, its concept note done: the partner's letter of intent open."""
    lead = actor(app, "stadt-dortmund")
    project = await app.start_project(lead, title=f"Pilot {uuid.uuid4().hex[:4]}", partners=[org],
                                      parameters={"report_count": 1})
    await app.complete_task(lead, project["id"], "t1", data=SAMPLE_DATA["concept_note"])
    task = next(t for t in app.show_project(lead, project["id"])["tasks"] if t["step"] == "letter_of_intent")
    return project["id"], task["id"]


async def delivered(engine: Engine, message_id: str) -> dict[str, str]:
    """Send the outbox to a real SMTP server until that mail has arrived; what arrived."""
    sink, stop = MailSink(), asyncio.Event()
    sink.start()
    sender = asyncio.create_task(MailSender(engine, Smtp("127.0.0.1", sink.port), every=0.2).run(stop))
    try:
        for _ in range(600):  # a bound for a slow machine: every mail the shared store holds goes first
            found = [m for m in sink.received if m["message_id"] == message_id]
            if found:
                return found[0]
            await asyncio.sleep(0.1)
        raise AssertionError("the digest was not delivered")
    finally:
        stop.set()
        await sender
        sink.stop()


def mails_to(engine: Engine, user_id: str) -> list[dict]:
    return [m for m in list_mail(engine, limit=100_000) if m["recipient"] == user_id]


async def test_a_daily_reader_gets_one_digest_at_seven_and_nothing_on_a_day_with_nothing_to_say(
        skipping_env: WorkflowEnvironment, sqlite_engine: Engine):
    org = f"org-{uuid.uuid4().hex[:8]}"
    accounts.add_org(sqlite_engine, org_id=org, name="Caritas Niš", country="RS")
    daily, _ = accounts.add_user(sqlite_engine, email=f"daily@{org}.example", org_id=org, role="partner", lang="sr")
    at_once, _ = accounts.add_user(sqlite_engine, email=f"now@{org}.example", org_id=org, role="partner", lang="en")
    set_preferences(sqlite_engine, daily.id, mail="daily", timezone="Europe/Belgrade")
    task_queue = f"tq-{uuid.uuid4()}"
    app = Coopflow(engine=sqlite_engine, client=skipping_env.client, task_queue=task_queue)
    env = skipping_env

    # the first worker keeps no sticky queue: the time-skipping server's clock stands still while a workflow task
    # waits on one, so a stopped worker's would stop the day
    async with build_worker(env.client, sqlite_engine, task_queue, public_url=PUBLIC, max_cached_workflows=0):
        overdue = await letter(app, org)  # due in 14 days: overdue by the digest
        await env.sleep(timedelta(days=4))
        soon = await letter(app, org)  # due 14 days after this: within three days of the digest
        await env.sleep(timedelta(days=12))
        await env.sleep(next_local(await env.get_current_time(), 5) - await env.get_current_time())
        new = await letter(app, org)  # opened two hours before the digest
        assert await ensure_digests(env.client, task_queue) == "started"
        assert await ensure_digests(env.client, task_queue) == "running"
        seven = next_local(await env.get_current_time(), 7)
        await env.sleep(seven - await env.get_current_time() + timedelta(hours=1))

        digests = [m for m in mails_to(sqlite_engine, daily.id) if m["kind"] == "digest"]
        assert len(digests) == 1
        digest = digests[0]
        sent_at = parse_time(digest["created_at"]).astimezone(BELGRADE)
        assert (sent_at.date(), sent_at.hour, sent_at.minute) == (seven.date(), 7, 0)
        assert digest["subject"] == f"Vaši zadaci za {seven.date().isoformat()}" and digest["lang"] == "sr"
        body = digest["body"]
        sections = [body.index(h) for h in ("Rok je istekao (1):", "Rok ističe u naredna tri dana (1):",
                                              "Novo od poslednjeg pregleda (1):")]
        assert sections == sorted(sections)
        ends = [*sections[1:], len(body)]
        for i, (pid, tid) in enumerate((overdue, soon, new)):  # each task in its section, by its titles
            title = app.show_project(actor(app, "auditor"), pid)["title"]
            assert sections[i] < body.index(f"• Pismo o namerama — {title}") < ends[i]
            assert sections[i] < body.index(f"{PUBLIC}/projects/{pid}/tasks/{tid}") < ends[i]
        assert "letter_of_intent" not in body and "CET" in body  # titles, never keys; due times in Belgrade's
        assert f"{PUBLIC}/settings" in body

        # the daily reader had no mail of its own for a new task, but reminders and overdue notices came
        kinds = Counter(m["kind"] for m in mails_to(sqlite_engine, daily.id))
        assert kinds["task_opened"] == 0 and kinds["reminder"] >= 1 and kinds["overdue"] == 1
        colleague = Counter(m["kind"] for m in mails_to(sqlite_engine, at_once.id))
        assert colleague["task_opened"] == 3 and colleague["digest"] == 0
        assert [d["tasks"] for d in digests_of(sqlite_engine, daily.id)] == [3]
        received = await delivered(sqlite_engine, digest["message_id"])
        assert received["to"] == daily.email and received["subject"] == digest["subject"]
        assert "Pismo o namerama" in received["body"]

    # a retry of the activity after its commit (or another worker) finds the day done
    again = send_digests(sqlite_engine, at=seven + timedelta(minutes=30), public_url=PUBLIC,
                         templates=PinnedTemplates(sqlite_engine))
    assert again == 0

    # a new worker; the reader does what was due; the next day has nothing to say
    async with build_worker(env.client, sqlite_engine, task_queue, public_url=PUBLIC):
        reader = Actor(user=daily.id, org=org, role="partner")
        for pid, tid in (overdue, soon):
            await app.complete_task(reader, pid, tid, data=SAMPLE_DATA["letter_of_intent"])
        await env.sleep(seven + timedelta(days=1, hours=1) - await env.get_current_time())

    assert len([m for m in mails_to(sqlite_engine, daily.id) if m["kind"] == "digest"]) == 1
    days = digests_of(sqlite_engine, daily.id)
    assert [(d["local_date"], d["tasks"]) for d in days] == [
        (seven.date().isoformat(), 3), ((seven + timedelta(days=1)).date().isoformat(), 0)]
    assert parse_time(days[1]["at"]).astimezone(BELGRADE).hour == 7

    # the workflow replays (every run of it: it continued as new after a day of quarter hours)
    runs, run_id = 0, None
    while True:
        history = await env.client.get_workflow_handle(WORKFLOW_ID, run_id=run_id).fetch_history()
        await Replayer(workflows=[DigestWorkflow], data_converter=pydantic_data_converter,
                       workflow_runner=workflow_runner()).replay_workflow(history)
        runs += 1
        run_id = history.events[0].workflow_execution_started_event_attributes.continued_execution_run_id
        if not run_id:
            break
    assert runs == 2


DIGEST_HISTORIES = Path(__file__).parent.parent / "histories" / "digests"


async def test_digest_histories_replay(skipping_env: WorkflowEnvironment, sqlite_engine: Engine):
    """A fresh run of the digest workflow (two quarter hours, then continue-as-new) replays, and so does every
    recorded one (``COOPFLOW_RECORD_HISTORY=digests-v<n>`` records the fresh one; a version is never written
    over): a change to the workflow must keep them replaying (``workflow.patched``)."""
    task_queue = f"tq-{uuid.uuid4()}"
    replayer = Replayer(workflows=[DigestWorkflow], data_converter=pydantic_data_converter,
                        workflow_runner=workflow_runner())
    async with build_worker(skipping_env.client, sqlite_engine, task_queue, public_url=PUBLIC):
        handle = await skipping_env.client.start_workflow(DigestWorkflow.run, 2, id=WORKFLOW_ID,
                                                          task_queue=task_queue)
        await skipping_env.sleep(timedelta(minutes=35))
        fresh = await skipping_env.client.get_workflow_handle(WORKFLOW_ID, run_id=handle.first_execution_run_id
                                                              ).fetch_history()
    types = [e.event_type for e in fresh.events]
    assert types.count(EventType.EVENT_TYPE_TIMER_FIRED) == 2
    assert types.count(EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) == 2
    assert types[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    await replayer.replay_workflow(fresh)
    label = os.environ.get("COOPFLOW_RECORD_HISTORY", "")
    if label.startswith("digests-v"):
        path = DIGEST_HISTORIES / f"{label}-run1.json"
        assert not path.exists(), f"{label} is in the corpus already: give a new version"
        path.write_text(fresh.to_json())
    recorded = sorted(DIGEST_HISTORIES.glob("*.json"))
    assert recorded
    for path in recorded:
        await replayer.replay_workflow(WorkflowHistory.from_json(WORKFLOW_ID, path.read_text()))
