"""A substitute's days on the time-skipping server: the mail about a held task reaches the substitute from the
first day of the absence to its last (both included, by the day of the event's own time, UTC), and neither the
day before nor the day after."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta

from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from domain import format_time
from services.app import Coopflow
from tests.api.test_holder_mail import CARITAS, mails
from tests.utils.app import LEAD, actor, start
from tests.utils.people import Colleague
from tests.utils.scenario import SAMPLE_DATA


async def test_the_substitute_gets_the_mail_from_the_first_day_to_the_last(
        skipping_env: WorkflowEnvironment, skipping_app: Coopflow, sqlite_engine: Engine,
        colleagues_of: Callable[..., list[Colleague]]):
    app = skipping_app
    ana, marko = colleagues_of(sqlite_engine, CARITAS, ["Ana Petrović", "Marko Jovanović"])
    lead = actor(app, LEAD)
    pid = (await start(app))["id"]
    await app.complete_task(lead, pid, "t1", data=SAMPLE_DATA["concept_note"])
    tid = next(t["id"] for t in app.list_tasks(actor(app, CARITAS)) if t["project_id"] == pid)
    await app.hold_task(app.actor_for_email(ana.email), pid, tid, ana.email)

    began = await skipping_env.get_current_time()
    noon = datetime.combine(began.date() + timedelta(days=1), time(12), tzinfo=began.tzinfo)  # tomorrow, 12:00
    first, last = noon + timedelta(days=1), noon + timedelta(days=2)  # the absence: two days, from the day after
    app.set_substitute(app.actor_for_email(ana.email), user=marko.email, starts=first.date().isoformat(),
                       ends=last.date().isoformat())

    told: list[tuple[str, set[str]]] = []
    for day in range(4):  # the day before, the first day, the last day, the day after
        moment = noon + timedelta(days=day)
        await skipping_env.sleep(moment - await skipping_env.get_current_time())
        project = await app.change_project(lead, pid, kind="extend_deadline", reason="holidays", task_id=tid,
                                           due_at=format_time(began + timedelta(days=30 + day)))
        event = list(app.list_events(lead, pid))[project["seq"] - 1]
        assert event["type"] == "DeadlineExtended"
        told.append((event["at"][:10], mails(app, pid, "deadline_extended")[project["seq"]]))

    days = [(noon + timedelta(days=d)).date().isoformat() for d in range(4)]
    assert told == [(days[0], {ana.user_id}), (days[1], {ana.user_id, marko.user_id}),
                    (days[2], {ana.user_id, marko.user_id}), (days[3], {ana.user_id})]

    # the reminder three days before the last due date, long after the absence: to Ana alone
    await skipping_env.sleep(began + timedelta(days=31) - await skipping_env.get_current_time())
    await app.client.get_workflow_handle(f"project-{pid}").execute_update("sync")
    reminded = [e for e in app.list_events(lead, pid) if e["type"] == "ReminderSent" and e["task_id"] == tid]
    assert len(reminded) == 1 and mails(app, pid, "reminder")[reminded[0]["seq"]] == {ana.user_id}
