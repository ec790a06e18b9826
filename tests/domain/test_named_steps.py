"""The two templates beyond ``cooperation``, in the pure domain: steps named at run time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain import InvalidData, InvalidRequest, parse_time
from templates import TemplateRegistry
from tests.utils.domain import LEAD, PARTNERS, Project

REGISTRY = TemplateRegistry()
EXPERT_DAY = REGISTRY.latest("expert-day")
REFERRAL = REGISTRY.latest("return-referral")
CARITAS, HORIZON, DIFFERENT = PARTNERS

PLAN = {"day_date": "2027-03-10", "venue": "Rathaus", "target_audience": "Counsellors"}
CONSENT = {"person_name": "Ana Petrović", "consent": True, "consent_on": "2027-01-04"}


def expert_day_to_the_day(tables: object) -> Project:
    p = Project(template=EXPERT_DAY)
    p.complete(p.open("plan_day")[0], PLAN)
    for task in p.open("confirm_speaker"):
        p.complete(task, {"speaker": "Dr. Jelena Marković", "topic": "Return and housing"})
    p.complete(p.open("define_tables")[0], {"tables": tables})
    assert p.state.phase == "the_day"
    p.complete(p.open("hold_day")[0], {"held_on": "2027-03-10", "participants": 80})
    return p


def test_one_task_per_table_each_with_its_host_title_and_due_date():
    p = expert_day_to_the_day(f"{CARITAS} | Housing | 2027-04-01\n{HORIZON} | Work\n{CARITAS} | Health")
    tables = p.open("table_results")
    assert [(t["assignee"], t["item"]["title"], t["occurrence"]) for t in tables] == [
        (CARITAS, "Housing", 1), (HORIZON, "Work", 2), (CARITAS, "Health", 3)]
    assert tables[0]["due_at"] == "2027-04-01T23:59:59.000000Z"
    assert parse_time(tables[1]["due_at"]) - parse_time(tables[1]["opened_at"]) == timedelta(days=14)
    for task in tables[:-1]:
        p.complete(task, {"results": "Three proposals"})
        assert not p.open("documentation")
    p.complete(tables[-1], {"results": "Two proposals"})
    assert p.open("documentation")


def test_a_table_host_must_be_in_the_project_and_its_due_date_ahead():
    p = Project(template=EXPERT_DAY)
    p.complete(p.open("plan_day")[0], PLAN)
    task = p.open("define_tables")[0]
    with pytest.raises(InvalidData, match="not an organisation of this project"):
        p.complete(task, {"tables": [{"org": "somebody-else", "title": "Housing"}]})
    with pytest.raises(InvalidData, match="not between today"):
        p.complete(task, {"tables": [{"org": CARITAS, "title": "Housing", "due": "2020-01-01"}]})
    with pytest.raises(InvalidData, match="tables"):
        p.complete(task, {"tables": "caritas-rs without a title"})


def test_follow_up_actions_reviewed_until_done_or_waived():
    p = expert_day_to_the_day([{"org": CARITAS, "title": "Housing"}])
    p.complete(p.open("table_results")[0], {"results": "Proposals"})
    p.complete(p.open("documentation")[0], {"summary": "Done"})
    p.complete(p.open("define_actions")[0], {"actions": [
        {"org": CARITAS, "title": "Brochure", "due": "2027-06-30"}, {"org": LEAD, "title": "Press release"},
        {"org": DIFFERENT, "title": "Training"}]})
    brochure, press, training = p.open("follow_up_action")
    assert brochure["due_at"] == "2027-06-30T23:59:59.000000Z"
    p.change("waive", task_id=training["id"])
    p.complete(brochure, {"what_was_done": "Printed"})
    (review,) = p.open("review_action")
    assert review["subject_org"] == CARITAS
    p.complete(review, {}, "not_yet")
    (again,) = [t for t in p.open("follow_up_action") if t["round"] == 2]
    assert (again["assignee"], again["item"]["title"], again["round"]) == (CARITAS, "Brochure", 2)
    p.complete(again, {"what_was_done": "Printed and sent"})
    p.complete(p.open("review_action")[0], {}, "done")
    p.complete(press, {"what_was_done": "Published"})
    p.complete(p.open("review_action")[0], {}, "done")
    assert p.state.status == "completed"


def test_every_action_waived_ends_the_project():
    p = expert_day_to_the_day([{"org": CARITAS, "title": "Housing"}])
    p.complete(p.open("table_results")[0], {"results": "Proposals"})
    p.complete(p.open("documentation")[0], {"summary": "Done"})
    p.complete(p.open("define_actions")[0], {"actions": [{"org": CARITAS, "title": "Brochure"}]})
    p.change("waive", task_id=p.open("follow_up_action")[0]["id"])
    assert p.state.status == "completed"


def test_a_waived_list_names_no_one_and_what_follows_opens():
    p = Project(template=EXPERT_DAY)
    p.complete(p.open("plan_day")[0], PLAN)
    for task in p.open("confirm_speaker"):
        p.complete(task, {"speaker": "N. N.", "topic": "Housing"})
    p.change("waive", task_id=p.open("define_tables")[0]["id"])
    p.complete(p.open("hold_day")[0], {"held_on": "2027-03-10"})
    assert [t["step"] for t in p.open()] == ["documentation"]


def test_declined_referral_goes_to_another_partner():
    p = Project(template=REFERRAL)
    p.complete(p.open("record_consent")[0], CONSENT)
    with pytest.raises(InvalidData, match="consent"):
        Project(template=REFERRAL).complete(p.tasks(step="record_consent")[0], {**CONSENT, "consent": False})
    p.complete(p.open("refer")[0], {"partner": CARITAS, "needs": "Housing"})
    (response,) = p.open("accept_referral")
    assert response["assignee"] == CARITAS
    p.complete(response, {"comment": "No capacity"}, "decline")
    (refer,) = p.open()
    assert (refer["step"], refer["round"]) == ("refer", 2)
    p.complete(refer, {"partner": HORIZON, "needs": "Housing"})
    (response,) = p.open()
    assert (response["step"], response["assignee"], response["round"]) == ("accept_referral", HORIZON, 2)
    p.complete(response, {}, "accept")
    assert p.state.phase == "reintegration"
    for step, data in (("reintegration_plan", {"plan": "Flat and job"}), ("follow_up_3_months", {"situation": "ok"}),
                       ("follow_up_6_months", {"situation": "settled"})):
        (task,) = p.open()
        assert (task["step"], task["assignee"]) == (step, HORIZON)
        p.complete(task, data)
    (closure,) = p.open()
    p.complete(closure, {"summary": "Settled"})
    assert p.state.status == "completed"


def test_the_named_assignee_survives_a_continued_run():
    p = Project(template=REFERRAL)
    p.complete(p.open("record_consent")[0], CONSENT)
    p.complete(p.open("refer")[0], {"partner": CARITAS, "needs": "Housing"})
    p.complete(p.open("accept_referral")[0], {}, "accept")
    p.state = p.state.compacted()
    p.complete(p.open("reintegration_plan")[0], {"plan": "Flat"})
    assert p.open()[0]["assignee"] == CARITAS
    assert all(not t.data for t in p.state.compacted().tasks.values() if t.step == "record_consent"), \
        "personal data is not carried over"


def test_a_template_that_does_not_use_the_new_fields_dumps_as_before():
    """The dump is in the first event and hashed: a workflow replaying a running project recomputes it."""
    import base64
    import json
    from pathlib import Path

    from domain import Template

    history = json.loads((Path(__file__).parent.parent / "histories" / "lifecycle-v2-run1.json").read_text())
    payload = history["events"][0]["workflowExecutionStartedEventAttributes"]["input"]["payloads"][0]["data"]
    recorded = json.loads(base64.b64decode(payload))["start"]["template"]
    assert Template.model_validate(recorded).model_dump(mode="json") == recorded
    assert REFERRAL.model_dump(mode="json")["phases"][0]["steps"][2]["named_in"] == {"step": "refer",
                                                                                    "field": "partner"}


def test_the_partner_a_person_is_referred_to_cannot_simply_leave():
    p = Project(template=REFERRAL)
    p.complete(p.open("record_consent")[0], CONSENT)
    p.complete(p.open("refer")[0], {"partner": CARITAS, "needs": "Housing"})
    for _ in range(2):  # pending, then accepted
        with pytest.raises(InvalidRequest, match="refer to another partner first, or cancel"):
            p.change("withdraw_partner", org=CARITAS)
        if p.open("accept_referral"):
            p.complete(p.open("accept_referral")[0], {}, "accept")
    p.change("withdraw_partner", org=HORIZON)  # another partner may
    assert [t["step"] for t in p.open()] == ["reintegration_plan"]


def test_a_partner_that_declined_may_leave():
    p = Project(template=REFERRAL)
    p.complete(p.open("record_consent")[0], CONSENT)
    p.complete(p.open("refer")[0], {"partner": CARITAS, "needs": "Housing"})
    p.complete(p.open("accept_referral")[0], {}, "decline")
    p.complete(p.open("refer")[0], {"partner": HORIZON, "needs": "Housing"})
    p.change("withdraw_partner", org=CARITAS)
    assert [(t["step"], t["assignee"]) for t in p.open()] == [("accept_referral", HORIZON)]


def test_an_action_review_whose_subject_left_is_done():
    p = expert_day_to_the_day([{"org": CARITAS, "title": "Housing"}])
    p.complete(p.open("table_results")[0], {"results": "Proposals"})
    p.complete(p.open("documentation")[0], {"summary": "Done"})
    p.complete(p.open("define_actions")[0], {"actions": [{"org": CARITAS, "title": "Brochure"}]})
    p.complete(p.open("follow_up_action")[0], {"what_was_done": "Printed"})
    p.change("withdraw_partner", org=CARITAS)
    assert p.state.status == "completed"


@pytest.mark.parametrize(("value", "says"), [
    ("caritas-rs | " + "x" * 1001, "is too long"), ("Caritas RS | Housing", "must be an organisation id"),
    ([{"org": "caritas-rs", "title": "x", "due": "2027-13-01"}], "must be a date"),
    ([{"org": "caritas-rs", "title": "x", "extra": 1}], "must be a list of entries"),
    ("caritas-rs | x | 2027-01-01 | more", "is not written 'organisation | title | YYYY-MM-DD'"),
    ([{"org": "caritas-rs", "title": "x"}] * 101, "has too many entries"), ("caritas-rs | ", "without a title"),
    (42, "must be a list of entries")])
def test_a_bad_list_of_assignments_names_what_is_wrong(value: object, says: str):
    from domain import validate_form

    field = next(f for f in EXPERT_DAY.step("define_tables").form if f.name == "tables")
    with pytest.raises(InvalidData) as info:
        validate_form([field], {"tables": value})
    assert says in info.value.details["tables"]
