"""Whose open tasks are whose: an organisation's, and one person's."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from domain import holder_of
from store import read
from store.accounts import list_orgs
from store.pinned import PinnedTemplates


def org_open_tasks(engine: Engine, *, org: str, role: str) -> list[dict[str, Any]]:
    """The open tasks an organisation owes across projects (auditors: the auditors' tasks), with the steps any
    partner may take in the projects it is a partner of; the earliest due first within each kind."""
    tasks = read.open_tasks(engine, "auditor" if role == "auditor" else org)
    if role != "auditor":  # a step any partner may take is in every partner's inbox
        mine = {p["id"] for p in read.list_projects(engine, member=org)}
        tasks += [t for t in read.open_tasks(engine, "any_partner") if t["project_id"] in mine]
    return tasks


def open_tasks_of_person(engine: Engine, *, user_id: str, org: str, role: str) -> list[dict[str, Any]]:
    """The open tasks of one person: held by them, or owed by their organisation and held by nobody
    (auditors: the auditors' tasks). What their daily digest and their calendar feed list; the tasks a colleague
    holds are left out here, and nowhere else."""
    return [t for t in org_open_tasks(engine, org=org, role=role)
            if holder_of(t) in (None, user_id)]


def with_titles(engine: Engine, tasks: list[dict[str, Any]], *, lang: str,
                templates: PinnedTemplates) -> list[dict[str, Any]]:
    """Each task with ``project_title``, ``step_title`` (in ``lang``; English where the template has no title in
    it) and ``about`` (the name of the organisation whose work it reviews, or None), for what people read:
    names and titles, never ids or keys."""
    projects: dict[str, dict[str, Any] | None] = {}
    names = {o.id: o.name for o in list_orgs(engine)} if any(t.get("subject_org") for t in tasks) else {}
    found = []
    for task in tasks:
        pid = task["project_id"]
        if pid not in projects:
            projects[pid] = read.get_project(engine, pid)
        project = projects[pid]
        if project is None:
            continue
        titles = templates.of(pid).step(task["step"]).title
        about = task.get("subject_org")
        found.append({**task, "project_title": project["title"],
                      "step_title": titles.get(lang) or titles.get("en") or task["step"].replace("_", " "),
                      "about": names.get(about, about) if about else None})
    return found
