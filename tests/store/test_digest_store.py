"""Digests in the store, on SQLite and PostgreSQL: none before 07:00 local, one row per person and local date
(a second write of the day writes nothing, mail included), and which section each task is listed in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from activities.digests import sections, send_digests
from domain import format_time
from store import accounts
from store.digests import digests_of, record_digest
from store.outbox import list_mail
from store.pinned import PinnedTemplates
from store.preferences import set_preferences

AT = datetime(2027, 3, 10, 6, 0, tzinfo=UTC)  # 07:00 in Belgrade (CET)


def reader(engine: Engine) -> str:
    org = f"org-{uuid.uuid4().hex[:8]}"
    accounts.add_org(engine, org_id=org, name="Partner", country="RS")
    user, _ = accounts.add_user(engine, email=f"daily@{org}.example", org_id=org, role="partner", lang="sr")
    set_preferences(engine, user.id, mail="daily", timezone="Europe/Belgrade")
    return user.id


def test_a_person_gets_at_most_one_digest_a_local_day(engine: Engine):
    user_id, templates = reader(engine), PinnedTemplates(engine)
    send_digests(engine, at=AT - timedelta(minutes=1), public_url="https://x.example", templates=templates)
    assert digests_of(engine, user_id) == []  # 06:59 in Belgrade
    send_digests(engine, at=AT, public_url="https://x.example", templates=templates)
    assert [(d["local_date"], d["tasks"]) for d in digests_of(engine, user_id)] == [("2027-03-10", 0)]  # nothing to say
    send_digests(engine, at=AT + timedelta(hours=16, minutes=59), public_url="https://x.example", templates=templates)
    assert len(digests_of(engine, user_id)) == 1  # 23:59 the same day

    mail = {"message_id": f"<digest.{user_id}.2027-03-11@coopflow>", "project_id": "", "seq": 0,
            "recipient": user_id, "to_address": "daily@example.org", "lang": "sr", "kind": "digest",
            "subject": "Vaši zadaci za 2027-03-11", "body": "…", "created_at": format_time(AT), "status": "pending",
            "attempts": 0, "next_attempt_at": 0.0, "lease_until": 0.0, "sent_at": None, "last_error": None}
    day = dict(user_id=user_id, local_date="2027-03-11", at=format_time(AT + timedelta(days=1)), tasks=1)
    assert record_digest(engine, **day, mail=mail) is True
    assert record_digest(engine, **day, mail={**mail, "message_id": "<another@coopflow>"}) is False
    assert [m["message_id"] for m in list_mail(engine, limit=100_000) if m["recipient"] == user_id] == [
        mail["message_id"]]


def test_each_task_is_listed_once_overdue_first_then_due_soon_then_new():
    def task(tid: str, opened: timedelta, due: timedelta) -> dict:
        return {"id": tid, "opened_at": format_time(AT + opened), "due_at": format_time(AT + due)}

    tasks = [task("t1", -timedelta(days=20), -timedelta(days=1)),  # overdue
             task("t2", -timedelta(hours=2), timedelta(days=2)),  # new, and due within three days
             task("t3", -timedelta(hours=2), timedelta(days=14)),  # new
             task("t4", -timedelta(days=5), timedelta(days=9)),  # nothing to say
             task("t5", -timedelta(hours=1), -timedelta(minutes=1))]  # new but overdue already
    found = sections(tasks, at=AT, since=AT - timedelta(days=1))
    assert {k: [t["id"] for t in v] for k, v in found.items()} == {
        "overdue": ["t1", "t5"], "soon": ["t2"], "new": ["t3"]}
