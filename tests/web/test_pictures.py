"""The pictures drawn on the server: the project's timeline and the coordinator's open work per organisation.
Well-formed SVG with its text alternatives; the rows and markers a project's facts call for; every word in the
reader's language and no id or key; small for a project of thousands of events; counts that match the tasks."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import Engine

from domain import Actor, Forbidden, NotFound, format_time
from services.app import Coopflow
from services.seed import DEMO_ORGS
from store import read
from templates import TemplateRegistry
from tests.utils.pictures import realistic_project, store_project
from web.i18n import LANGUAGES, MISSING, Translator
from web.picture_chart import open_work
from web.pictures import MAX_BARS, MAX_CHANGES_LISTED, MAX_ROWS, timeline
from web.words import Words

SVG = "{http://www.w3.org/2000/svg}"
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
NAMES = {org: name for org, name, *_ in DEMO_ORGS}
COOPERATION = TemplateRegistry().latest("cooperation")
LOCALES = Path(__file__).parents[2] / "web" / "locales"


def at(days: float) -> str:
    return format_time(NOW - timedelta(days=days))


def task(tid: str, step: str, org: str, status: str, opened: float, due: float, closed: float | None = None,
         phase: str = "funding_application", **more: Any) -> dict[str, Any]:
    return {"id": tid, "phase": phase, "step": step, "assignee": org, "subject_org": None, "round": 1,
            "occurrence": None, "status": status, "opened_at": at(opened), "due_at": at(due),
            "deadline_missed": False, "closed_at": None if closed is None else at(closed), "on_behalf_of": None,
            **more}


def event(seq: int, kind: str, days: float, **more: Any) -> dict[str, Any]:
    return {"seq": seq, "type": kind, "at": at(days), "phase": more.pop("phase", "funding_application"),
            "step": more.pop("step", None), "task_id": more.pop("task_id", None), "data": more}


FACTS = {  # a late task, a completed one, an open overdue one, an extension and a withdrawal
    "id": "p1", "started_at": at(60), "status": "active", "updated_at": at(1), "lead": "stadt-dortmund",
    "tasks": [task("t1", "concept_note", "stadt-dortmund", "completed", 60, 46, 50),
              task("t2", "letter_of_intent", "caritas-rs", "completed", 50, 36, 30),
              task("t3", "letter_of_intent", "horizon-civitas-mk", "open", 50, 36),
              task("t4", "letter_of_intent", "different-and-equal-al", "superseded", 50, 36, 20),
              task("t5", "application_submitted", "stadt-dortmund", "open", 30, -20)],
    "events": [event(1, "PhaseStarted", 60), event(9, "PartnerWithdrawn", 20, org="different-and-equal-al"),
               event(10, "DeadlineExtended", 10, step="application_submitted", task_id="t5", due_at=at(-20),
                     **{"from": at(16)})],
}


def drawn(pic: dict[str, Any]) -> ET.Element:
    root = ET.fromstring(str(pic["svg"]))  # well-formed XML, or this raises
    assert root.tag == f"{SVG}svg" and root.get("role") == "img" and root.get("width") == "100%"
    assert root.get("viewBox", "").startswith("0 0 ") and "height" not in root.attrib
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None and title.text and desc.text
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    return root


def path_with(root: ET.Element, **attrs: str) -> list[str]:
    """The subpaths of the one path drawn with these attributes (not the legend's symbols)."""
    wanted = {k.replace("_", "-"): v for k, v in attrs.items()}
    found = [p for p in root.findall(f"{SVG}path") if {k: v for k, v in p.attrib.items() if k != "d"} == wanted]
    return [d for p in found for d in re.findall(r"M[^M]+", p.get("d", ""))]


def words_of(pic: dict[str, Any], root: ET.Element) -> str:
    texts = [el.text or "" for el in root.iter() if el.tag in (f"{SVG}text", f"{SVG}title", f"{SVG}desc")]
    cells = [str(v) for row in pic.get("rows", []) + pic.get("changes", []) for v in row.values()]
    return "\n".join(texts + cells + [pic.get("note", "")])


def test_the_timeline_draws_rows_bars_and_markers_for_what_happened():
    t = Translator("en")
    pic = timeline(FACTS, COOPERATION, t, Words(t, NAMES), NOW)
    root = drawn(pic)
    labels = [el.text for el in root.iter(f"{SVG}text")]
    for row in ("Concept note · Stadt Dortmund – Transnationale Zusammenarbeit", "Letter of intent · Caritas Srbija",
                "Letter of intent · Horizon Civitas", "Letter of intent · Different and Equal",
                "Application submitted · Stadt Dortmund – Transnationale Zusammenarbeit"):
        assert row in labels
    assert "Funding application" in labels and "Changes to the project" in labels and "Today" in labels
    late = path_with(root, fill="url(#tl-p1-late)", stroke="#b3261e")
    assert len(late) == 2, "the late completion (t2) and the overdue open task (t3): red and striped"
    assert len(path_with(root, fill="#1e7a3a", stroke="#fff")) == 2, "a diamond where t1 and t2 were done"
    assert len(path_with(root, stroke="#1d2733", stroke_width="2")) == 5, "every task's due date is a tick"
    assert len(path_with(root, fill="#cfe0f5", stroke="#0b5cad")) == 1, "t5 is open, not late"
    assert len(path_with(root, fill="#eceef1", stroke="#8a949f")) == 1, "t4 is no longer needed"
    assert len(path_with(root, fill="#6a3d9a")) == 3, "the extension (lane and row) and the withdrawal"
    assert not path_with(root, fill="none", stroke="#1d2733", stroke_width="2"), "nothing was waived"
    assert len(path_with(root, stroke_dasharray="2 3", stroke="#6a3d9a")) == 1, "the withdrawal crosses the rows"
    assert root.find(f".//{SVG}pattern") is not None
    rows = {r["label"]: r for r in pic["rows"]}
    assert rows["Letter of intent · Caritas Srbija"]["late"] == "done on Nov 4, 2026, 6 days late"
    assert rows["Letter of intent · Horizon Civitas"]["late"] == "overdue by 36 days"
    assert rows["Concept note · Stadt Dortmund – Transnationale Zusammenarbeit"]["done"] == "Oct 15, 2026"
    assert rows["Application submitted · Stadt Dortmund – Transnationale Zusammenarbeit"]["changes"] == \
        "Due date extended"
    assert [c["change"] for c in pic["changes"]] == ["Due date extended", "Partner withdrawn"]
    assert pic["changes"][1]["concerns"] == "Different and Equal"
    assert "Tasks: 5. Done: 2, of them late: 1. Open: 2, of them overdue: 1. Changes: 2." in pic["desc"]
    assert pic["note"] == ""


def test_a_realistic_project_shows_what_its_events_say():
    p = realistic_project(NOW)
    facts = facts_of(p)
    types = {e["type"] for e in facts["events"]}
    assert {"DeadlineExtended", "PartnerWithdrawn", "PartnerAdded", "StepWaived"} <= types
    t = Translator("en")
    pic = timeline(facts, COOPERATION, t, Words(t, NAMES), NOW)
    root = drawn(pic)
    assert len(path_with(root, fill="url(#" + pic["id"] + "-late)", stroke="#b3261e")) >= 3
    assert len(path_with(root, stroke="#1d2733", stroke_width="2")) == len(facts["tasks"])
    assert {"Partner added", "Partner withdrawn", "Step waived", "Due date extended"} <= \
        {c["change"] for c in pic["changes"]}


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_every_word_of_the_pictures_is_in_the_readers_language_and_no_id_or_key_shows(lang: str):
    english = yaml.safe_load((LOCALES / "en" / "pictures.yaml").read_text(encoding="utf-8"))
    fragments = {part.strip(" .:;,·") for text in english.values() for part in re.split(r"\{\w+\}", text)}
    own = " ".join(yaml.safe_load((LOCALES / lang / "pictures.yaml").read_text(encoding="utf-8")).values())
    fragments = {f for f in fragments if len(f) >= 5 and f not in own}  # "Partner", "Organisation" are German too
    t = Translator(lang)
    pictures = [timeline(FACTS, COOPERATION, t, Words(t, NAMES), NOW),
                timeline(facts_of(realistic_project(NOW)), COOPERATION, t, Words(t, NAMES), NOW),
                open_work([{"org": "caritas-rs", "open": 3, "overdue": 1}], t, Words(t, NAMES))]
    for pic in pictures:
        said = words_of(pic, drawn(pic))
        assert MISSING.format("")[:1] not in said
        left = sorted(f for f in fragments if f in said)
        assert not left, f"{lang}: English left in the picture: {left}"
        keys = re.findall(r"\bt\d+\b|caritas-rs|stadt-dortmund|horizon-civitas-mk|different-and-equal-al|"
                          r"[a-z]+_[a-z_]+|\b[A-Z][a-z]+[A-Z]\w+|\bP\d+[DMWY]\b", said)
        assert not keys, f"{lang}: ids or keys in the picture: {keys}"
    months = {"de": "Dez", "sr": "dec", "mk": "дек", "sq": "dhj"}[lang]
    assert months in str(pictures[0]["svg"]), "the axis names months in the reader's language"


def test_a_project_of_thousands_of_tasks_keeps_a_small_picture():
    steps = [s.key for _, s in COOPERATION.steps()]
    orgs = list(NAMES)[:4]
    tasks, events = [], [event(1, "PhaseStarted", 900)]
    n = 0
    for i in range(50):  # 50 rows (steps × organisations) of 40 occurrences each: 2,000 tasks
        for k in range(40):
            n += 1
            status = "completed" if k < 39 else "open"
            tasks.append(task(f"t{n}", steps[i % len(steps)], orgs[i // len(steps) % 4] if i < 60 else orgs[0],
                              status, 900 - k * 20, 886 - k * 20, 880 - k * 20 if k < 39 else None,
                              occurrence=k + 1))
            if k % 10 == 0:
                events.append(event(len(events) + 1, "DeadlineExtended", 880 - k * 20, task_id=f"t{n}",
                                    due_at=at(870 - k * 20)))
    facts = {**FACTS, "tasks": tasks, "events": events}
    t = Translator("en")
    pic = timeline(facts, COOPERATION, t, Words(t, NAMES), NOW)
    root = drawn(pic)
    size = len(str(pic["svg"]).encode())
    print(f"timeline of {len(tasks)} tasks, {len(events)} changes: {size} bytes of SVG")
    assert size <= 25_000
    assert len(path_with(root, stroke="#1d2733", stroke_width="2")) <= MAX_ROWS * MAX_BARS
    assert "Not drawn:" in pic["note"] and "the latest 12" in pic["note"]
    assert len(pic["changes"]) == MAX_CHANGES_LISTED and pic["more_changes"] == len(events) - 1 - MAX_CHANGES_LISTED


def test_the_open_work_chart_stacks_overdue_on_open_per_organisation():
    t = Translator("en")
    rows = [{"org": "caritas-rs", "open": 5, "overdue": 2}, {"org": "horizon-civitas-mk", "open": 2, "overdue": 0}]
    pic = open_work(rows, t, Words(t, NAMES))
    root = drawn(pic)
    labels = [el.text for el in root.iter(f"{SVG}text")]
    assert "Caritas Srbija" in labels and "Horizon Civitas" in labels
    assert "open: 5 · overdue: 2" in labels and "open: 2 · overdue: 0" in labels
    assert len(path_with(root, fill="url(#open-work-late)", stroke="#b3261e")) == 1
    assert len(path_with(root, fill="#cfe0f5", stroke="#0b5cad")) == 2
    assert "Caritas Srbija: open 5, overdue 2" in pic["desc"]
    assert pic["rows"] == [{"org": "Caritas Srbija", "open": 5, "overdue": 2},
                           {"org": "Horizon Civitas", "open": 2, "overdue": 0}]


def test_the_open_work_counts_match_the_tasks_of_the_active_projects_the_lead_leads(engine: Engine):
    coopflow = Coopflow(engine=engine, client=None, task_queue="pictures")  # type: ignore[arg-type]
    coordinator = Actor(user="u", org="stadt-dortmund", role="coordinator")
    stored = [realistic_project(NOW, days=days) for days in (200, 120)]
    for p in stored:
        store_project(engine, p)
    read_back = coopflow.project_timeline(coordinator, stored[0].state.id)
    assert read_back == facts_of(stored[0]), "the store gives the picture what the events say"
    found = {r["org"]: (r["open"], r["overdue"]) for r in coopflow.open_work_by_org(coordinator, NOW)}
    expected: dict[str, list[int]] = {}
    for project in read.list_projects(engine, lead="stadt-dortmund"):
        if project["status"] != "active":
            continue
        for t in (read.get_project(engine, project["id"], with_tasks=True) or {"tasks": []})["tasks"]:
            if t["status"] == "open":
                counts = expected.setdefault(t["assignee"], [0, 0])
                counts[0] += 1
                counts[1] += t["due_at"] < format_time(NOW)
    assert found == {org: tuple(c) for org, c in expected.items()}
    assert any(overdue for _, overdue in found.values()), "the realistic projects have overdue work"
    with pytest.raises(Forbidden):
        coopflow.open_work_by_org(Actor(user="p", org="caritas-rs", role="partner"), NOW)
    stranger = Actor(user="s", org="audit-office-2", role="partner")
    with pytest.raises(NotFound):
        coopflow.project_timeline(stranger, read.list_projects(engine, lead="stadt-dortmund")[-1]["id"])


def test_a_new_project_and_an_ended_one_are_drawn_too():
    t = Translator("en")
    fresh = {**FACTS, "started_at": at(0.01), "events": [event(1, "PhaseStarted", 0.01)],
             "tasks": [task("t1", "concept_note", "stadt-dortmund", "open", 0.01, -14)]}
    pic = timeline(fresh, COOPERATION, t, Words(t, NAMES), NOW)
    assert "Concept note · Stadt Dortmund – Transnationale Zusammenarbeit" in words_of(pic, drawn(pic))
    p = realistic_project(NOW, days=2000, reports=2)
    assert p.state.status == "completed"
    pic = timeline(facts_of(p), COOPERATION, t, Words(t, NAMES), NOW)
    said = words_of(pic, drawn(pic))
    assert "The project ended" in said and "Today" not in said
    assert "Open: 0, of them overdue: 0." in pic["desc"]


def facts_of(p: Any) -> dict[str, Any]:
    """What ``Coopflow.project_timeline`` reads from the store, taken from a project folded in memory."""
    from domain import summary_view
    from services.pictures import TASK_FIELDS
    from store.pictures import EVENT_DATA, TIMELINE_EVENTS

    summary = summary_view(p.state)
    return {"id": summary["id"], "started_at": summary["started_at"], "status": summary["status"],
            "updated_at": summary["updated_at"], "lead": summary["lead"],
            "tasks": [{k: t.get(k) for k in TASK_FIELDS} for t in p.tasks()],
            "events": [{"seq": e.seq, "type": e.type, "at": e.at, "phase": e.phase, "step": e.step,
                        "task_id": e.task_id, "data": {k: v for k, v in e.data.items() if k in EVENT_DATA}}
                       for e in p.events if e.type in TIMELINE_EVENTS]}
