"""Changes to a running project, requests for more time, reminders and escalation, in the pure domain."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain import (
    Actor,
    DomainError,
    Forbidden,
    InvalidRequest,
    NotAssigned,
    TaskClosed,
    format_time,
    next_wake,
    parse_time,
)
from tests.utils.domain import COORDINATOR, LEAD, PARTNERS, Project, partner
from tests.utils.scenario import SAMPLE_DATA

OTHER_COORDINATOR = Actor(user="u-wien", org="stadt-wien", role="coordinator")


def later(task: dict, days: int) -> str:
    return format_time(parse_time(task["due_at"]) + timedelta(days=days))


def letters(p: Project) -> Project:
    p.play(loops=False, until_step="letter_of_intent")
    return p


@pytest.mark.parametrize("who", [partner(PARTNERS[0]), OTHER_COORDINATOR])
def test_only_a_coordinator_of_the_lead_changes_a_project(who: Actor):
    p = letters(Project())
    with pytest.raises(Forbidden):
        p.change("cancel", actor=who)


def test_a_change_needs_a_reason_and_a_running_project():
    p = letters(Project())
    with pytest.raises(InvalidRequest) as info:
        p.change("cancel", reason="  ")
    assert info.value.details == {"reason": "is required"}
    p.change("cancel")
    with pytest.raises(InvalidRequest, match="cancelled"):
        p.change("cancel")


def test_extend_deadline_moves_the_due_date_and_rearms_reminder_overdue_and_escalation():
    p = letters(Project())
    task = p.open("letter_of_intent")[0]
    p.tick(parse_time(task["due_at"]) + timedelta(days=4))
    assert {e.type for e in p.events if e.task_id == task["id"]} >= {"ReminderSent", "DeadlineMissed", "Escalated"}
    with pytest.raises(InvalidRequest) as info:
        p.change("extend_deadline", task_id=task["id"], due_at=task["due_at"])
    assert info.value.details == {"due_at": "is not later than the current due date"}
    due = later(task, 14)
    (extended,) = p.change("extend_deadline", task_id=task["id"], due_at=due)
    assert extended.type == "DeadlineExtended" and extended.data == {"from": task["due_at"], "due_at": due,
                                                                      "reason": "agreed in the steering group"}
    moved = next(t for t in p.open() if t["id"] == task["id"])
    assert moved["due_at"] == due and not moved["deadline_missed"]
    types = [e.type for e in p.tick(parse_time(due) + timedelta(days=4)) if e.task_id == task["id"]]
    assert types == ["ReminderSent", "DeadlineMissed", "Escalated"]


def test_waiving_counts_as_done_for_what_follows_but_decisions_are_never_waived():
    p = letters(Project())
    first, *others = p.open("letter_of_intent")
    p.change("waive", task_id=first["id"])
    assert next(t for t in p.tasks() if t["id"] == first["id"])["status"] == "waived"
    for task in others:
        p.complete(task, SAMPLE_DATA["letter_of_intent"])
    assert [t["step"] for t in p.open()] == ["application_submitted"]
    p.complete(p.open()[0], SAMPLE_DATA["application_submitted"])
    with pytest.raises(InvalidRequest) as info:
        p.change("waive", task_id=p.open()[0]["id"])  # the funding decision
    assert info.value.details == {"task_id": "is a decision"}


def test_a_reassigned_task_is_done_by_another_partner_on_behalf_of_the_first():
    p = letters(Project())
    caritas = next(t for t in p.open() if t["assignee"] == PARTNERS[0])
    with pytest.raises(InvalidRequest):
        p.change("reassign", task_id=caritas["id"], org="nobody")
    p.change("reassign", task_id=caritas["id"], org=PARTNERS[1])
    moved = next(t for t in p.open() if t["id"] == caritas["id"])
    assert moved["assignee"] == PARTNERS[1] and p.state.tasks[caritas["id"]].on_behalf_of == PARTNERS[0]
    with pytest.raises(NotAssigned):
        p.complete(moved, SAMPLE_DATA["letter_of_intent"], actor=partner(PARTNERS[0]))
    for task in p.open("letter_of_intent"):
        p.complete(task, SAMPLE_DATA["letter_of_intent"])
    assert [t["step"] for t in p.open()] == ["application_submitted"]
    with pytest.raises(InvalidRequest, match="not a partner's task"):
        p.change("reassign", task_id=p.open()[0]["id"], org=PARTNERS[1])


def test_a_partner_added_owes_the_open_steps_of_the_phase_and_every_later_one():
    p = letters(Project(partners=PARTNERS[:2]))
    p.change("add_partner", org=PARTNERS[2])
    assert sorted(t["assignee"] for t in p.open("letter_of_intent")) == sorted(PARTNERS)
    assert p.state.partners == PARTNERS
    with pytest.raises(InvalidRequest):
        p.change("add_partner", org=PARTNERS[2])
    p.play(loops=False, until_step="progress_report")
    assert sorted(t["assignee"] for t in p.open("progress_report")) == sorted(PARTNERS)
    # joining during the pilot: the open report occurrence is owed at once
    q = Project(partners=PARTNERS[:1], parameters={"report_count": 2})
    q.play(loops=False, until_step="progress_report")
    q.change("add_partner", org=PARTNERS[1])
    assert [(t["assignee"], t["occurrence"]) for t in q.open("progress_report")] == [
        (PARTNERS[0], 1), (PARTNERS[1], 1)]


def test_a_withdrawn_partner_no_longer_holds_anything_up():
    p = Project()
    p.play(loops=False, until_step="review_agreement")
    reviews = p.open("review_agreement")
    for review in reviews[:2]:
        p.complete(review, SAMPLE_DATA["review_agreement"], "accept")
    withdrawn = reviews[2]["assignee"]
    p.change("withdraw_partner", org=withdrawn)
    assert next(t for t in p.tasks() if t["id"] == reviews[2]["id"])["status"] == "superseded"
    assert sorted(t["assignee"] for t in p.open("sign_agreement")) == sorted(set(PARTNERS) - {withdrawn})
    assert withdrawn not in p.state.partners
    p.play(loops=False, until_step="progress_report")
    assert withdrawn not in {t["assignee"] for t in p.open("progress_report")}
    q = Project(partners=PARTNERS[:1])
    with pytest.raises(InvalidRequest, match="at least one partner"):
        q.change("withdraw_partner", org=PARTNERS[0])


def test_cancel_supersedes_everything_and_stops_the_clock():
    p = letters(Project())
    events = p.change("cancel")
    assert [e.type for e in events] == ["StepSuperseded"] * 3 + ["ProjectCancelled"]
    assert p.state.status == "cancelled" and not p.open() and next_wake(p.state) is None


def test_a_partner_asks_for_more_time_and_the_coordinator_decides():
    p = letters(Project())
    task = next(t for t in p.open() if t["assignee"] == PARTNERS[0])
    with pytest.raises(NotAssigned):
        p.ask_for_time(task, later(task, 7), actor=partner(PARTNERS[1]))
    p.ask_for_time(task, later(task, 7))
    (decision,) = p.open("extension_decision")
    assert (decision["assignee"], decision["subject_org"], decision["outcomes"]) == (LEAD, PARTNERS[0],
                                                                                      ["grant", "decline"])
    with pytest.raises(InvalidRequest, match="asked for already"):
        p.ask_for_time(task, later(task, 9))
    p.complete(decision, {"comment": "fine"}, "grant", actor=COORDINATOR)
    assert next(t for t in p.open() if t["id"] == task["id"])["due_at"] == later(task, 7)
    assert p.events[-1].type == "DeadlineExtended" and p.events[-1].data["decision"] == decision["id"]
    # declined: nothing moves
    other = next(t for t in p.open() if t["assignee"] == PARTNERS[1])
    p.ask_for_time(other, later(other, 7))
    p.complete(p.open("extension_decision")[0], {}, "decline", actor=COORDINATOR)
    assert next(t for t in p.open() if t["id"] == other["id"])["due_at"] == other["due_at"]
    # the lead's own tasks get more time by a change, not by asking
    q = Project()
    with pytest.raises(NotAssigned):
        q.ask_for_time(q.open()[0], later(q.open()[0], 7))


def test_an_open_request_goes_when_its_task_goes():
    p = letters(Project())
    task = next(t for t in p.open() if t["assignee"] == PARTNERS[0])
    p.ask_for_time(task, later(task, 7))
    p.change("withdraw_partner", org=PARTNERS[0])
    assert not p.open("extension_decision")
    with pytest.raises(TaskClosed):
        p.complete(task, SAMPLE_DATA["letter_of_intent"])


def test_reminder_overdue_and_escalation_come_once_each_at_their_moment():
    p = Project()
    (task,) = p.open()
    due = parse_time(task["due_at"])
    assert p.tick(due - timedelta(days=3, seconds=1)) == []
    assert [e.type for e in p.tick(due - timedelta(days=3))] == ["ReminderSent"]
    assert p.tick(due - timedelta(seconds=1)) == []
    assert [e.type for e in p.tick(due)] == ["DeadlineMissed"]
    # the lead's own task is not escalated to the lead; a partner's is
    assert p.tick(due + timedelta(days=10)) == []
    p.complete(p.open()[0], SAMPLE_DATA["concept_note"])
    letter = p.open()[0]
    assert next_wake(p.state) == format_time(parse_time(letter["due_at"]) - timedelta(days=3))
    events = p.tick(parse_time(letter["due_at"]) + timedelta(days=3))
    escalated = [e for e in events if e.type == "Escalated"]
    assert len(escalated) == 3 and escalated[0].data["lead"] == LEAD
    assert p.tick(parse_time(letter["due_at"]) + timedelta(days=30)) == []


def test_every_refusal_is_a_domain_error_with_a_message():
    p = letters(Project())
    task = p.open()[0]
    for kwargs in ({"task_id": "t999"}, {"task_id": task["id"], "due_at": "soon"}, {"task_id": None},
                   {"task_id": task["id"], "due_at": format_time(parse_time(task["due_at"]) + timedelta(days=99999))}):
        with pytest.raises(DomainError) as info:
            p.change("extend_deadline", **kwargs)
        assert info.value.message


def test_a_request_for_more_time_goes_when_its_task_is_done_or_waived():
    p = letters(Project())
    first, second, _ = p.open("letter_of_intent")
    p.ask_for_time(first, later(first, 7))
    p.ask_for_time(second, later(second, 7))
    p.complete(first, SAMPLE_DATA["letter_of_intent"])
    p.change("waive", task_id=second["id"])
    assert not p.open("extension_decision")
    assert [e.type for e in p.events[-4:]] == ["StepCompleted", "StepSuperseded", "StepWaived", "StepSuperseded"]


@pytest.mark.parametrize("partners", [1, 2])
def test_every_report_waived_still_leads_to_the_milestone_review(partners: int):
    """Found by the property test: with every progress report of an occurrence waived no review opens,
    and the milestone review waited for reviews that never come."""
    p = Project(partners=PARTNERS[:partners], parameters={"report_count": 1})
    p.play(loops=False, until_step="progress_report")
    for report in p.open("progress_report"):
        p.change("waive", task_id=report["id"])
    assert [t["step"] for t in p.open()] == ["milestone_review"]
    p.complete(p.open()[0], SAMPLE_DATA["milestone_review"], outcome="complete")
    assert {t["step"] for t in p.open()} == {"self_evaluation"}
