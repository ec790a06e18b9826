"""Which events tell whom what, by mail, in each recipient's language.

| event | mail | to |
|---|---|---|
| StepOpened, TaskReassigned | task_opened (reopened: quotes the decision why) | the organisation that owes it |
| ReminderSent | reminder | the same, ``remind_before`` the due date |
| DeadlineMissed | overdue | the same |
| Escalated | escalation | the lead organisation's coordinators |
| DeadlineExtended | deadline_extended | the organisation that owes the task |
| ProjectEnded, ProjectCancelled | project_ended | every user of the lead and of every partner |

A person who chose the daily digest gets no task_opened mail for a StepOpened: the task is in their next
digest (activities/digests.py). Every other mail comes to them as it does to everyone.
| (changes: activities/mail_changes.py) | partner_added, partner_withdrawn, task_superseded, more_time_* | |
| (people: activities/mail_people.py) | task_handed, task_freed; a held task's mail to its holder only | |

A mail's Message-ID comes from (project, seq, recipient): one event gives one mail to each person,
whatever retries or crashes happen around it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import Connection

from activities.contracts import RecordEvents
from activities.mail_changes import Change, change_mail
from activities.mail_people import HELD_MAILS, PERSON, held_recipients, people_facts
from domain import Event, Template, format_time, parse_time
from store.outbox import Person, org_names, people_of

TEXTS = Path(__file__).with_name("mail_texts.yaml")
LANGS = ("en", "de", "sr", "mk", "sq")
TASK_MAILS = {"StepOpened": "task_opened", "TaskReassigned": "task_opened", "ReminderSent": "reminder",
              "DeadlineMissed": "overdue", "DeadlineExtended": "deadline_extended"}

# what a person who chose the daily digest reads there (activities/digests.py) instead of in a mail of its own;
# reminders, overdue notices, escalations and changes stay immediate: they come when the template says
DIGESTED = ("StepOpened",)

PROJECT_MAILS = ("project_ended", "partner_added", "partner_withdrawn")  # their link: the project's page


@functools.cache
def texts() -> dict[str, dict[str, str]]:
    """``mail_texts.yaml`` and the files of ``mail_texts/`` (a feature's mails, one file each)."""
    found: dict[str, dict[str, str]] = {lang: {} for lang in LANGS}
    for path in [TEXTS, *sorted(TEXTS.with_suffix("").glob("*.yaml"))]:
        for lang, words in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            twice = sorted(set(words) & set(found.setdefault(lang, {})))
            if twice:
                raise ValueError(f"{path.name}: {', '.join(twice)} already said in another file ({lang})")
            found[lang].update(words)
    return found


def mails_for(batch: RecordEvents, conn: Connection, *, template: Template, public_url: str) -> list[dict[str, Any]]:
    """The outbox rows a batch of events causes, composed with the connection of the transaction that writes
    them (so that they are added exactly when the events are)."""
    assignees = {t["id"]: t["assignee"] for t in batch.tasks}
    tasks = {t["id"]: t for t in batch.tasks}
    orgs = recipients_needed(batch.events, batch.project, assignees, tasks)
    if not orgs:
        return []
    people = people_of(conn, orgs)
    actors = {e.actor.org for e in batch.events if e.actor is not None}  # who did what a mail tells of
    names = org_names(conn, orgs | actors | {batch.project["lead"]})
    substitutes, persons = people_facts(conn, batch.events, batch.tasks)
    return compose(batch.events, project=batch.project, template=template, people=people,
                   names=names | persons, public_url=public_url, assignees=assignees, tasks=tasks,
                   substitutes=substitutes)


def changes(events: Iterable[Event], project: dict[str, Any], assignees: dict[str, str],
            tasks: dict[str, dict[str, Any]]) -> list[tuple[Event, Change | None, Event | None, Event | None]]:
    """Each event with the change mail it causes, the latest decision and request for more time before it."""
    events = list(events)
    ended = any(e.type in ("ProjectEnded", "ProjectCancelled") for e in events)
    decision = asked = None
    found = []
    for e in events:
        if e.type == "DecisionRecorded":
            decision = e
        elif e.type == "ExtensionRequested":
            asked = e
        found.append((e, change_mail(e, project=project, tasks=tasks, assignees=assignees, decision=decision,
                                     ended=ended), decision, asked))
    return found


def recipients_needed(events: Iterable[Event], project: dict[str, Any], assignees: dict[str, str],
                      tasks: dict[str, dict[str, Any]] | None = None) -> set[str]:
    """The organisations whose people the mails of ``events`` go to (``auditor``: all auditors)."""
    orgs: set[str] = set()
    for e, change, _, _ in changes(events, project, assignees, tasks or {}):
        if change is not None:
            orgs |= set(change.to)
        elif e.type in TASK_MAILS:
            orgs.add(e.data.get("to") or e.data.get("assignee") or assignees.get(e.task_id or "", ""))
        elif e.type == "Escalated":
            orgs |= {project["lead"], e.data.get("assignee", "")}
        elif e.type in ("ProjectEnded", "ProjectCancelled"):
            orgs |= {project["lead"], *project["partners"]}
    if "any_partner" in orgs:
        orgs |= set(project["partners"])
    orgs -= {"", "any_partner"}
    return orgs


def compose(events: Iterable[Event], *, project: dict[str, Any], template: Template,
            people: dict[str, list[Person]], names: dict[str, str], public_url: str,
            assignees: dict[str, str], tasks: dict[str, dict[str, Any]] | None = None,
            substitutes: dict[str, tuple[str, str, str]] | None = None) -> list[dict[str, Any]]:
    """The outbox rows for ``events``. ``assignees`` maps task ids to who owes them now (for events
    that do not name the assignee themselves); ``substitutes``: who stands in for the tasks' holders when."""
    rows: list[dict[str, Any]] = []
    base = public_url.rstrip("/")
    lead = names.get(project["lead"], project["lead"])
    # with each event: the latest decision of the batch (what reopened a step it opens again) and request
    # for more time (what a decision on it opens for)
    for e, change, decision, asked in changes(events, project, assignees, tasks or {}):
        kind = TASK_MAILS.get(e.type)
        if change is not None:
            kind, org, due, link = change.kind, change.org, "", base + change.link
            to = [p for o in change.to for p in people.get(o, [])
                  if o != project["lead"] or p.role == "coordinator"]
        elif kind is not None:
            org = e.data.get("to") or e.data.get("assignee") or assignees.get(e.task_id or "", "")
            due = e.data.get("due_at") or ""
            to = people.get(org, [])
            if org == "any_partner":
                to = [p for partner in project["partners"] for p in people.get(partner, [])]
            link = f"{base}/projects/{project['id']}/tasks/{e.task_id}"
            if e.type in DIGESTED:
                to = [p for p in to if p.mail != "daily"]
        elif e.type == "Escalated":
            kind, org, due = "escalation", e.data.get("assignee", ""), e.data.get("due_at", "")
            to = [p for p in people.get(project["lead"], []) if p.role == "coordinator"]
            link = f"{base}/projects/{project['id']}/tasks/{e.task_id}"
        elif e.type in ("ProjectEnded", "ProjectCancelled"):
            kind, org, due = "project_ended", project["lead"], ""
            to = [p for o in (project["lead"], *project["partners"]) for p in people.get(o, [])]
            link = f"{base}/projects/{project['id']}"
        else:
            continue
        if kind in HELD_MAILS:
            to = held_recipients(to, (tasks or {}).get(e.task_id or ""), e.at, substitutes or {})
        for person in dict.fromkeys(to):
            rows.append(_row(e, kind, person, project=project, template=template, link=link, lead=lead,
                             org=names.get(org, "the auditors" if org == "auditor" else org), due=due,
                             why=decision if e.type == "StepOpened" and e.data.get("round", 1) > 1 else None,
                             names=names, asked=asked if e.data.get("subject_task") else None,
                             tasks=tasks or {}, change=change))
    return rows


def quoted(decision: Event | None, template: Template, say: dict[str, str], lang: str,
           names: dict[str, str]) -> list[str]:
    """The decision that sent a step back, quoted in the mail that opens it again: who decided what, and
    their comment (the decision's own, or its form's ``comment``; a sealed one is not quoted)."""
    if decision is None or decision.step is None:
        return []
    outcome = template.step(decision.step).outcome(decision.data.get("outcome") or "")
    if outcome is None:
        return []
    comment = decision.data.get("comment") or decision.data.get("form", {}).get("comment")
    who = names.get(decision.actor.org, decision.actor.org) if decision.actor else ""
    lines = [say["decided_by"].format(org=who, outcome=outcome.title.get(lang) or outcome.title.get("en")
                                      or outcome.name)]
    if isinstance(comment, str) and comment.strip():
        lines.append(say["their_comment"].format(comment=comment.strip()))
    return ["\n".join(lines)]


def request(asked: Event | None, template: Template, say: dict[str, str], lang: str,
            tasks: dict[str, dict[str, Any]]) -> list[str]:
    """A decision on more time opened: the task asked about, its current due date and the partner's reason."""
    if asked is None or asked.step is None:
        return []
    titles = template.step(asked.step).title
    task = tasks.get(asked.task_id or "", {})
    current = parse_time(task["due_at"]).strftime("%Y-%m-%d %H:%M UTC") if task.get("due_at") else "—"
    return [say["more_time_asked"].format(step=titles.get(lang) or titles.get("en") or asked.step,
                                          current=current, reason=asked.data.get("reason", ""))]


def change_values(change: Change, template: Template, say: dict[str, str], lang: str,
                  names: dict[str, str]) -> dict[str, str]:
    """What a change's mail names, in the recipient's language: who, the outcome's title, the dates."""
    values = {**change.values, "who": names.get(change.who, change.who)}
    if change.values.get("person", "").startswith(PERSON):  # a person's name (a hand-over's mails)
        values["person"] = names.get(change.values["person"], say.get("a_colleague", ""))
    if change.values.get("decided_step"):
        outcome = template.step(change.values["decided_step"]).outcome(change.values["outcome"])
        titles = outcome.title if outcome is not None else {}
        values["outcome"] = titles.get(lang) or titles.get("en") or change.values["outcome"]
        decided = template.step(change.values["decided_step"]).title
        values["decided_step"] = decided.get(lang) or decided.get("en") or change.values["decided_step"]
    if change.values.get("requested"):
        values["requested"] = parse_time(change.values["requested"]).strftime("%Y-%m-%d")
    return values


def _row(e: Event, kind: str, person: Person, *, project: dict[str, Any], template: Template, link: str,
         lead: str, org: str, due: str, why: Event | None = None, names: dict[str, str] | None = None,
         asked: Event | None = None, tasks: dict[str, dict[str, Any]] | None = None,
         change: Change | None = None) -> dict[str, Any]:
    """One mail. Its subject is one line whatever the titles in it hold (a project's title from before
    titles had to be one line, say): a line break in a header would make the mail impossible to send."""
    lang = person.lang if person.lang in LANGS else "en"
    say = texts()[lang]
    titles = template.step(e.step).title if e.step else {}
    values = {"step": titles.get(lang) or titles.get("en") or (e.step or "").replace("_", " "),
              "project": project["title"], "org": org, "lead": lead, "link": link,
              "due": parse_time(due).strftime("%Y-%m-%d %H:%M UTC") if due else "",
              "status": say.get(f"status_{project.get('status')}", project.get("status", ""))}
    if change is not None:
        values |= change_values(change, template, say, lang, names or {})
    if kind == "project_ended":
        values["status"] = say[f"status_{'cancelled' if e.type == 'ProjectCancelled' else e.data['status']}"]
    body = "\n\n".join([say["greeting"], say[f"{kind}_body"].format(**values),
                        *quoted(why, template, say, lang, names or {}),
                        *request(asked, template, say, lang, tasks or {}),
                        *([say["their_comment"].format(comment=change.comment)] if change and change.comment else []),
                        say["open_project" if kind in PROJECT_MAILS else "open_task"].format(**values),
                        say["signature"].format(**values)])
    return {"message_id": f"<{project['id']}.{e.seq}.{person.id}@coopflow>", "project_id": project["id"],
            "seq": e.seq, "recipient": person.id, "to_address": person.email, "lang": lang, "kind": kind,
            "subject": " ".join(say[f"{kind}_subject"].format(**values).split()), "body": body,
            "created_at": format_time(datetime.now(UTC)), "status": "pending", "attempts": 0,
            "next_attempt_at": 0.0, "lease_until": 0.0, "sent_at": None, "last_error": None}
