"""The daily digest: one mail at 07:00 in each reader's timezone, in their language, listing their tasks that
are new since their last digest, due within three days, or overdue.

``DigestWorkflow`` (workflows/digests.py) runs ``send_digests`` every quarter of an hour with its own time.
Each run makes the digest of every person who chose it, whose local time has passed 07:00 and who has none
for that local date yet (a day coopflow was down at 07:00 gets its digest as soon as it runs again). A
digest and its mail are written in one transaction with a row unique per person and local date
(store/digests.py): at most one a day, whatever retries or restarts happen. A day with nothing to say writes
the row alone, and sends nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.engine import Engine
from temporalio import activity

from activities.contracts import SEND_DIGESTS
from activities.mail import LANGS, texts
from domain import format_time, parse_time
from store.digests import Reader, daily_readers, done_days, last_digest_at, record_digest
from store.person_tasks import open_tasks_of_person, with_titles
from store.pinned import PinnedTemplates

log = structlog.get_logger("coopflow.digests")
HOUR = 7  # local time of the day's digest
SOON = timedelta(days=3)  # "due soon": within this
FIRST = timedelta(days=1)  # a person's first digest calls new what opened this long before it
SECTIONS = ("overdue", "soon", "new")  # each task in the first that fits


def sections(tasks: list[dict[str, Any]], *, at: datetime, since: datetime) -> dict[str, list[dict[str, Any]]]:
    """The tasks a digest lists: overdue, due within three days, new since ``since`` (each task once, the
    earliest due first); a task that is none of these is not listed."""
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in SECTIONS}
    for task in sorted(tasks, key=lambda t: t["due_at"]):
        due = parse_time(task["due_at"])
        if due <= at:
            found["overdue"].append(task)
        elif due <= at + SOON:
            found["soon"].append(task)
        elif parse_time(task["opened_at"]) > since:
            found["new"].append(task)
    return found


def _line(say: dict[str, str], task: dict[str, Any], zone: ZoneInfo, base: str) -> str:
    about = f" ({task['about']})" if task["about"] else ""
    return say["digest_line"].format(step=task["step_title"] + about, project=task["project_title"],
                                     due=parse_time(task["due_at"]).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z"),
                                     link=f"{base}/projects/{task['project_id']}/tasks/{task['id']}")


def compose(reader: Reader, listed: dict[str, list[dict[str, Any]]], *, day: str, at: datetime,
            public_url: str) -> dict[str, Any]:
    """The outbox row of one digest: its due times in the reader's timezone."""
    lang = reader.lang if reader.lang in LANGS else "en"
    say, zone, base = texts()[lang], ZoneInfo(reader.timezone), public_url.rstrip("/")
    parts = [say["greeting"], say["digest_intro"]]
    for name in SECTIONS:
        if listed[name]:
            parts.append("\n".join([say[f"digest_{name}"].format(n=len(listed[name])),
                                    *(_line(say, t, zone, base) for t in listed[name])]))
    parts += [say["digest_footer"].format(link=f"{base}/settings"), say["digest_signature"]]
    return {"message_id": f"<digest.{reader.id}.{day}@coopflow>", "project_id": "", "seq": 0,
            "recipient": reader.id, "to_address": reader.email, "lang": lang, "kind": "digest",
            "subject": " ".join(say["digest_subject"].format(date=day).split()), "body": "\n\n".join(parts),
            "created_at": format_time(at), "status": "pending", "attempts": 0, "next_attempt_at": 0.0,
            "lease_until": 0.0, "sent_at": None, "last_error": None}


def send_digests(engine: Engine, *, at: datetime, public_url: str, templates: PinnedTemplates,
                 heartbeat: Any = None) -> int:
    """Make the digests due at ``at``; returns how many mails were written to the outbox."""
    readers = daily_readers(engine)
    local = {r.id: at.astimezone(ZoneInfo(r.timezone)) for r in readers}
    due = [r for r in readers if local[r.id].hour >= HOUR]
    done = done_days(engine, [r.id for r in due], {local[r.id].date().isoformat() for r in due})
    sent = 0
    for reader in due:
        day = local[reader.id].date().isoformat()
        if (reader.id, day) in done:
            continue
        last = last_digest_at(engine, reader.id)
        since = parse_time(last) if last else at - FIRST
        tasks = with_titles(engine, open_tasks_of_person(engine, user_id=reader.id, org=reader.org, role=reader.role),
                            lang=reader.lang, templates=templates)
        listed = sections(tasks, at=at, since=since)
        count = sum(len(v) for v in listed.values())
        mail = compose(reader, listed, day=day, at=at, public_url=public_url) if count else None
        if record_digest(engine, user_id=reader.id, local_date=day, at=format_time(at), tasks=count, mail=mail):
            sent += mail is not None
        if heartbeat is not None:
            heartbeat()
    if sent:
        log.info("daily digests written", mails=sent)
    return sent


class DigestActivities:
    def __init__(self, engine: Engine, public_url: str = "http://127.0.0.1:8000") -> None:
        self._engine, self._public_url = engine, public_url
        self._templates = PinnedTemplates(engine)

    @activity.defn(name=SEND_DIGESTS)
    def send_digests(self, at: str) -> int:
        """The digests due at ``at`` (the workflow's time: on a time-skipping server, not the wall clock's)."""
        return send_digests(self._engine, at=parse_time(at), public_url=self._public_url,
                            templates=self._templates, heartbeat=activity.heartbeat)
