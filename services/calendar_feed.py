"""A person's open tasks as an RFC 5545 calendar (written by the ``icalendar`` package: escaping, line folding,
CRLF).

Each task is a VEVENT at its due time (DTSTART; DTEND half an hour later): Thunderbird and Outlook both show
events of a subscribed calendar, where support for VTODO differs. Times are UTC (``Z``): every client shows
them in its own timezone, and no VTIMEZONE is needed. The UID is ``<project>-<task>@<host>``, the same in every
fetch and after the feed's URL is renewed; the summary is the step's title in the person's language and the
project's title; URL and DESCRIPTION link to the task's page.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from icalendar import Calendar, Event

from domain import parse_time

LENGTH = timedelta(minutes=30)


def feed(tasks: list[dict[str, Any]], *, base_url: str, host: str, now: datetime) -> bytes:
    """The calendar of ``tasks`` (each with ``step_title`` and ``project_title``, see store/person_tasks.py)."""
    calendar = Calendar()
    calendar.add("prodid", "-//coopflow//tasks//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "coopflow")
    calendar.add("x-published-ttl", "PT1H")  # how often a client may look again (Outlook reads this one)
    for task in tasks:
        link = f"{base_url.rstrip('/')}/projects/{task['project_id']}/tasks/{task['id']}"
        due = parse_time(task["due_at"])
        about = f" ({task['about']})" if task.get("about") else ""
        event = Event()
        event.add("uid", f"{task['project_id']}-{task['id']}@{host}")
        event.add("dtstamp", now)
        event.add("dtstart", due)
        event.add("dtend", due + LENGTH)
        event.add("summary", f"{task['step_title']}{about} — {task['project_title']}")
        event.add("description", link)
        event.add("url", link)
        calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical
