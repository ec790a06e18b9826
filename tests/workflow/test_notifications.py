"""Reminders, overdue notices and escalations from durable timers (time-skipping server), delivered by
mail to a real SMTP server (aiosmtpd) exactly once each, in each recipient's language — also when
the worker restarts between the event and the send."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from datetime import timedelta

from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from activities.sender import MailSender, Smtp
from services.app import Coopflow
from services.devstack import MailSink
from store.outbox import list_mail
from tests.utils.app import actor, play, start
from worker import build_worker


async def deliver(engine: Engine, sink: MailSink, project_id: str) -> None:
    """Run a mail sender until every mail of the project is sent."""
    stop = asyncio.Event()
    sender = asyncio.create_task(MailSender(engine, Smtp("127.0.0.1", sink.port), every=0.2).run(stop))
    deadline = time.monotonic() + 60
    while any(m["status"] != "sent" for m in list_mail(engine, project_id=project_id)):
        assert time.monotonic() < deadline, "the outbox was not delivered"
        await asyncio.sleep(0.2)
    stop.set()
    await sender


async def test_reminder_overdue_and_escalation_each_arrive_once_across_a_worker_restart(
        skipping_env: WorkflowEnvironment, sqlite_engine: Engine, sink: MailSink):
    task_queue = f"tq-{uuid.uuid4()}"
    app = Coopflow(engine=sqlite_engine, client=skipping_env.client, task_queue=task_queue)
    # the first worker has no SMTP: what happens waits in the outbox
    async with build_worker(skipping_env.client, sqlite_engine, task_queue, public_url="https://coopflow.example"):
        project = await start(app)
        pid = project["id"]
        await play(app, pid, loops=False, until_step="progress_report")
        await skipping_env.sleep(timedelta(days=34))  # reminder at day 27, overdue at 30, escalation at 33
        await app.client.get_workflow_handle(f"project-{pid}").execute_update("sync")
    events = Counter(e["type"] for e in app.list_events(actor(app, "auditor"), pid)
                     if e["step"] == "progress_report")
    assert (events["ReminderSent"], events["DeadlineMissed"], events["Escalated"]) == (3, 3, 3)
    waiting = list_mail(sqlite_engine, project_id=pid)
    assert waiting and {m["status"] for m in waiting} == {"pending"}

    # the worker is gone; another one, with SMTP, sends what waited — once
    async with build_worker(skipping_env.client, sqlite_engine, task_queue):
        await deliver(sqlite_engine, sink, pid)
    received = [m for m in sink.received if f"<{pid}." in m["message_id"]]
    assert len(received) == len(waiting) == len({m["message_id"] for m in received})
    kinds = Counter(m["kind"] for m in list_mail(sqlite_engine, project_id=pid))
    assert (kinds["reminder"], kinds["overdue"], kinds["escalation"]) == (3, 3, 3)

    by_kind = {m["kind"]: m for m in list_mail(sqlite_engine, project_id=pid)}
    caritas = next(m for m in received if m["to"] == "caritas@demo.coopflow.example" and "Podsetnik" in m["subject"])
    assert "Izveštaj o napretku" in caritas["subject"] and caritas["lang"] == "sr"
    assert "https://coopflow.example/projects/" in caritas["body"]
    escalation = next(m for m in received if m["subject"].startswith("Eskalation"))
    assert escalation["to"] == "stadt@demo.coopflow.example" and "Horizon Civitas" in "".join(
        m["subject"] for m in received if m["subject"].startswith("Eskalation"))
    assert by_kind["overdue"]["lang"] in ("sr", "mk", "sq")
    assert {m["lang"] for m in received if m["to"].split("@")[0] in ("horizon", "different")} == {"mk", "sq"}
    # and nothing is sent twice: a sender running again finds nothing due
    assert MailSender(sqlite_engine, Smtp("127.0.0.1", sink.port)).send_due() == 0
    assert len([m for m in sink.received if f"<{pid}." in m["message_id"]]) == len(received)


def test_a_mail_that_cannot_be_sent_is_tried_later_and_then_reported_failed(sqlite_engine: Engine):
    from sqlalchemy import text

    from store.outbox import MAX_ATTEMPTS

    row = {"message_id": f"<failing.{uuid.uuid4().hex}@coopflow>", "project_id": "failing", "seq": 1,
           "recipient": "u-x", "to_address": "x@example.org", "lang": "en", "kind": "task_opened", "subject": "s",
           "body": "b", "created_at": "2027-01-01T00:00:00.000000Z", "status": "pending", "attempts": 0,
           "next_attempt_at": 0.0, "lease_until": 0.0, "sent_at": None, "last_error": None}
    with sqlite_engine.begin() as conn:
        conn.execute(text("INSERT INTO outbox VALUES (:message_id, :project_id, :seq, :recipient, :to_address, :lang, "
                          ":kind, :subject, :body, :created_at, :status, :attempts, :next_attempt_at, :lease_until, "
                          ":sent_at, :last_error)"), row)
    nowhere = MailSender(sqlite_engine, Smtp("127.0.0.1", 1))  # nothing listens on port 1
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert nowhere.send_due() == 0
        (mail,) = list_mail(sqlite_engine, project_id="failing")
        assert mail["attempts"] == attempt and mail["next_attempt_at"] > time.time() + 30
        with sqlite_engine.begin() as conn:  # as if the wait were over
            conn.execute(text("UPDATE outbox SET next_attempt_at = 0 WHERE project_id = 'failing'"))
    assert mail["status"] == "failed" and "ConnectionRefusedError" in mail["last_error"]
