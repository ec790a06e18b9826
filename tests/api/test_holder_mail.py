"""Mail about a held task goes to its holder (and their substitute while one stands in), not to the whole
organisation; a holder removed from the organisation frees the task, and the organisation is told."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from services.app import Coopflow
from services.seed import demo_email
from store.outbox import list_mail
from tests.utils.app import LEAD, PARTNERS, actor, start
from tests.utils.people import Colleague
from tests.utils.scenario import SAMPLE_DATA

CARITAS = PARTNERS[0]


def mails(app: Coopflow, pid: str, kind: str) -> dict[int, set[str]]:
    """The recipients (user ids) of each event's mails of ``kind``, by the event's seq."""
    found: dict[int, set[str]] = {}
    for mail in list_mail(app.engine, project_id=pid):
        if mail["kind"] == kind:
            found.setdefault(mail["seq"], set()).add(mail["recipient"])
    return found


async def test_a_held_tasks_mail_goes_to_its_holder_and_substitute_and_a_removed_holder_frees_it(
        app: Coopflow, colleagues_of: Callable[..., list[Colleague]]):
    ana, marko = colleagues_of(app.engine, CARITAS, ["Ana Petrović", "Marko Jovanović"])
    demo = app.actor_for_email(demo_email(CARITAS)).user
    lead = actor(app, LEAD)
    pid = (await start(app))["id"]
    await app.complete_task(lead, pid, "t1", data=SAMPLE_DATA["concept_note"])
    tid = next(t["id"] for t in app.list_tasks(actor(app, CARITAS)) if t["project_id"] == pid)
    opened = mails(app, pid, "task_opened")
    assert {demo, ana.user_id, marko.user_id} <= set().union(*opened.values())  # nobody holds it: everyone

    await app.hold_task(app.actor_for_email(ana.email), pid, tid, ana.email)
    year = datetime.now(UTC).year + 1

    async def extend(month: int) -> set[str]:
        project = await app.change_project(lead, pid, kind="extend_deadline", reason="holidays", task_id=tid,
                                           due_at=f"{year}-{month:02d}-01T12:00:00Z")
        return mails(app, pid, "deadline_extended")[project["seq"]]

    assert await extend(1) == {ana.user_id}  # the holder only, not the organisation

    today = datetime.now(UTC).date()
    app.set_substitute(app.actor_for_email(ana.email), user=marko.email, starts=today.isoformat(),
                       ends=(today + timedelta(days=2)).isoformat())
    assert await extend(2) == {ana.user_id, marko.user_id}  # and her substitute, on the days he stands in

    # the coordinator hands it to the demo user: he is told, by name of who did it
    await app.hold_task(lead, pid, tid, demo_email(CARITAS))
    handed = [m for m in list_mail(app.engine, project_id=pid) if m["kind"] == "task_handed"]
    assert [m["recipient"] for m in handed] == [demo] and "Stadt" not in handed[0]["subject"]
    await app.hold_task(lead, pid, tid, ana.email)

    # Ana leaves: the task is nobody's, by an event of the system, and the organisation is told
    removed = app.remove_person(ana.email)
    assert removed["held"] == 1 and await app.free_tasks_of(ana.user_id) == 1
    task = next(t for t in app.show_project(lead, pid)["tasks"] if t["id"] == tid)
    assert task["holder"] is None and task["status"] == "open"
    freed = list(app.list_events(actor(app, "auditor"), pid, type="TaskHeld"))[-1]
    assert freed["actor"] is None and freed["data"] == {"holder": None, "from": ana.user_id, "cause": "user_removed"}
    told = [m for m in list_mail(app.engine, project_id=pid) if m["kind"] == "task_freed"]
    assert {m["recipient"] for m in told} == {demo, marko.user_id}  # everyone still of the organisation
    assert all("Ana Petrović" in m["body"] for m in told)
    assert app.substitute(app.actor_for_email(marko.email)) is None and app.verify(lead, pid)["ok"]
    assert app.remove_person(ana.email)["held"] == 0  # removing again finds nothing left to free
    assert await app.free_tasks_of(ana.user_id) == 0
