from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from domain import InvalidRequest, ProjectState, evolve, fold, parse_time, verify_chain
from templates import TemplateRegistry
from tests.utils.domain import COORDINATOR, LEAD, PARTNERS, Project
from tests.utils.scenario import SAMPLE_DATA

V1 = TemplateRegistry().get("cooperation", 1)  # before reminders: the behaviour these tests pin


def test_start_opens_the_concept_note_for_the_lead():
    p = Project()
    assert [e.type for e in p.events] == ["ProjectStarted", "PhaseStarted", "StepOpened"]
    (task,) = p.open()
    assert (task["step"], task["assignee"], task["round"], task["kind"]) == ("concept_note", LEAD, 1, "submission")
    assert parse_time(task["due_at"]) - parse_time(task["opened_at"]) == timedelta(days=14)


def test_fan_out_to_each_partner_and_after_every():
    p = Project()
    p.complete(p.open()[0], SAMPLE_DATA["concept_note"])
    letters = p.open("letter_of_intent")
    assert sorted(t["assignee"] for t in letters) == sorted(PARTNERS)
    for task in letters[:-1]:
        p.complete(task, SAMPLE_DATA["letter_of_intent"])
        assert not p.open("application_submitted"), "opens only after every letter"
    p.complete(letters[-1], SAMPLE_DATA["letter_of_intent"])
    assert [t["assignee"] for t in p.open("application_submitted")] == [LEAD]


def test_revise_reopens_the_whole_phase_in_round_two():
    p = Project()
    p.play(until_step="funding_decision")
    p.complete(p.open()[0], {}, "revise")
    (concept,) = p.open()
    assert (concept["step"], concept["round"]) == ("concept_note", 2)
    assert p.events[-2].type == "LoopedBack"
    assert p.events[-2].data["rounds"] == {s: 2 for s in [
        "application_submitted", "concept_note", "funding_decision", "letter_of_intent"]}
    p.complete(concept, SAMPLE_DATA["concept_note"])
    assert {t["round"] for t in p.open("letter_of_intent")} == {2}


def test_rejected_ends_the_project():
    p = Project()
    p.play(until_step="funding_decision")
    p.complete(p.open()[0], {}, "rejected")
    assert p.state.status == "rejected" and not p.open()
    assert p.events[-1].type == "ProjectEnded" and p.events[-1].data == {"status": "rejected"}


def test_request_changes_reopens_draft_and_supersedes_other_reviews():
    p = Project()
    p.play(loops=False, until_step="review_agreement")
    first, *others = p.open("review_agreement")
    p.complete(others[0], {}, "accept")
    p.complete(first, {"comment": "clause 4"}, "request_changes")
    (draft,) = p.open()
    assert (draft["step"], draft["round"]) == ("draft_agreement", 2)
    statuses = Counter(t["status"] for t in p.tasks(step="review_agreement"))
    assert statuses == {"completed": 2, "superseded": 1}
    p.complete(draft, SAMPLE_DATA["draft_agreement"])
    assert [t["round"] for t in p.open("review_agreement")] == [2, 2, 2]


def test_progress_reports_recur_with_durable_schedule_and_reviews_per_report():
    p = Project(parameters={"report_count": 3, "report_every": "P1M"}, template=V1)  # v1: no reminders
    p.play(loops=False, until_step="progress_report")
    kickoff_at = parse_time(p.tasks(step="kickoff")[0]["closed_at"])
    assert [t["occurrence"] for t in p.open("progress_report")] == [1, 1, 1]
    assert [(x.occurrence, parse_time(x.at)) for x in p.state.scheduled] == [
        (2, kickoff_at.replace(month=kickoff_at.month + 1)), (3, kickoff_at.replace(month=kickoff_at.month + 2))]
    report = p.open("progress_report")[0]
    p.complete(report, SAMPLE_DATA["progress_report"])
    (review,) = p.open("report_review")
    assert (review["subject_org"], review["occurrence"], review["assignee"]) == (report["assignee"], 1, LEAD)
    p.complete(review, {}, "request_changes")
    again = [t for t in p.open("progress_report") if t["assignee"] == report["assignee"]]
    assert [(t["occurrence"], t["round"]) for t in again] == [(1, 2)]
    assert p.tick(kickoff_at + timedelta(days=1)) == []
    opened = p.tick(parse_time(p.state.scheduled[0].at))
    new = [e for e in opened if e.type == "StepOpened"]
    assert len(new) == 3 and {e.data["occurrence"] for e in new} == {2}
    # the three occurrence-1 reports still open (one sent back) are 31 days old: deadline passed
    assert sorted(e.type for e in opened if e.type != "StepOpened") == ["DeadlineMissed"] * 3


def test_milestone_review_waits_for_every_report_and_extend_adds_an_occurrence():
    p = Project(parameters={"report_count": 1})
    p.play(loops=False, until_step="milestone_review")
    (milestone,) = p.open()
    assert milestone["step"] == "milestone_review"
    p.complete(milestone, {}, "extend")
    assert [(t["occurrence"], t["round"]) for t in p.open()] == [(2, 1)] * 3
    p.play(loops=False, until_step="milestone_review")
    assert [(t["step"], t["round"]) for t in p.open()] == [("milestone_review", 2)]


def test_full_lifecycle_with_every_loop_ends_completed_with_an_unbroken_chain():
    p = Project(parameters={"report_count": 1})
    p.play(loops=True)
    assert p.state.status == "completed"
    assert p.events[-1].type == "ProjectEnded" and p.events[-1].data == {"status": "completed"}
    types = Counter(e.type for e in p.events)
    assert types["LoopedBack"] == 4 and types["PhaseCompleted"] == 4
    rounds = {t["step"]: t["round"] for t in p.tasks(status="completed")}
    assert rounds["concept_note"] == 2 and rounds["draft_agreement"] == 2 and rounds["evaluation_report"] == 2
    check = verify_chain(e.model_dump(mode="json") for e in p.events)
    assert check["ok"] and check["count"] == len(p.events) == p.state.seq and check["head"] == p.state.head
    assert fold(p.events) == p.state


def test_deadline_missed_keeps_the_task_open_and_is_recorded_once():
    p = Project(template=V1)
    (task,) = p.open()
    assert p.tick(parse_time(task["due_at"]) - timedelta(seconds=1)) == []
    (missed,) = p.tick(parse_time(task["due_at"]))
    assert (missed.type, missed.task_id, missed.actor) == ("DeadlineMissed", task["id"], None)
    assert p.open()[0]["deadline_missed"] is True
    assert p.tick(parse_time(task["due_at"]) + timedelta(days=3)) == []


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"partners": []}, "partners"), ({"partners": ["a", "a"]}, "partners"), ({"partners": [LEAD]}, "partners"),
    ({"parameters": {"report_count": 0}}, "parameters.report_count"),
    ({"parameters": {"report_every": "monthly"}}, "parameters.report_every"),
    ({"parameters": {"reports": 3}}, "parameters.reports"),
])
def test_bad_start_is_refused_with_the_field_named(kwargs, field):
    with pytest.raises(InvalidRequest) as info:
        Project(**kwargs)
    assert field in info.value.details


def test_events_are_sealed_into_a_chain():
    p = Project()
    first, second = p.events[:2]
    assert first.prev_hash == "0" * 64 and second.prev_hash == first.hash
    assert first.actor == COORDINATOR and first.data["template"]["id"] == "cooperation"
    assert fold(p.events[:1]) != ProjectState() and fold(p.events).seq == 3


def test_evolve_one_event_at_a_time_is_the_fold_and_leaves_its_input_alone():
    p = Project(parameters={"report_count": 1})
    p.play(loops=True)
    state = ProjectState()
    for event in p.events:
        before = state.model_copy(deep=True)
        after = evolve(state, event)
        assert state == before, "evolve returns a new state"
        state = after
    assert state == p.state
