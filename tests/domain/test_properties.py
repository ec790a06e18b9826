"""Property tests: random valid command sequences never break an invariant."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import DomainError, fold, format_time, parse_time, verify_chain
from tests.utils.domain import PARTNERS, Project
from tests.utils.scenario import SAMPLE_DATA

pytestmark = pytest.mark.long(33)  # seconds on 2 cores: started first (tests/conftest.py)


def check_invariants(p: Project) -> None:
    s = p.state
    assert fold(p.events) == s, "folding the emitted events reproduces the state"
    assert [e.seq for e in p.events] == list(range(1, len(p.events) + 1))
    assert verify_chain(e.model_dump(mode="json") for e in p.events)["ok"]
    open_tasks = [t for t in s.tasks.values() if t.status == "open"]
    assert all(t.phase == s.phase for t in open_tasks), "only the current phase has open tasks"
    slots = Counter((t.step, t.slot_org(), t.subject_org, t.occurrence) for t in open_tasks)
    assert max(slots.values(), default=1) == 1, "one open task per slot"
    if s.status == "active":
        assert open_tasks or s.scheduled, "an active project always waits for someone or something"
    else:
        assert not open_tasks and not s.scheduled
    for t in s.tasks.values():
        assert t.round >= 1 and (t.status == "open") == (t.closed_at is None)
        assert (t.actor is not None) == (t.status == "completed")
        if t.status == "open" and t.assignee not in ("auditor", "any_partner", s.lead):
            assert t.assignee in s.partners, "no open task of a partner who left"
        if t.status == "open" and t.step == "extension_decision":
            assert s.tasks[t.subject_task or ""].status == "open", "no decision on more time for a closed task"


def change_move(p: Project, data: st.DataObject) -> None:
    """A random change or request for more time; refused ones (a domain error) change nothing."""
    open_tasks = p.open()
    task = data.draw(st.sampled_from(open_tasks), label="task for a change") if open_tasks else None
    kind = data.draw(st.sampled_from(["extend_deadline", "waive", "reassign", "add_partner", "withdraw_partner",
                                      "cancel", "request"]), label="change")
    before = p.state
    try:
        if kind == "request" and task is not None:
            p.ask_for_time(task, format_time(parse_time(task["due_at"]) + timedelta(days=7)))
        elif kind != "request":
            org = data.draw(st.sampled_from([*PARTNERS, "ngo-new"]), label="org")
            due = format_time(parse_time(task["due_at"]) + timedelta(days=5)) if task else None
            p.change(kind, task_id=task["id"] if task else None, due_at=due, org=org)
    except DomainError:
        assert p.state == before


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(partners=st.integers(1, 3), reports=st.integers(1, 3), data=st.data())
def test_random_valid_sequences_keep_every_invariant(partners: int, reports: int, data: st.DataObject):
    p = Project(partners=PARTNERS[:partners], parameters={"report_count": reports, "report_every": "P1M"})
    play_randomly(p, data, 80, lambda step: dict(SAMPLE_DATA.get(step, {})))


def play_randomly(p: Project, data: st.DataObject, most: int, form: Callable[[str], dict[str, object]]) -> None:
    """Up to ``most`` random moves (a tick, a change, a completion with ``form(step)``), checking the
    invariants after each."""
    check_invariants(p)
    for _ in range(data.draw(st.integers(5, most), label="moves")):
        if p.state.status != "active":
            break
        open_tasks = p.open()
        roll = data.draw(st.integers(0, 9), label="tick, change or complete?")
        if not open_tasks or roll == 0:
            p.tick(p.now + timedelta(days=data.draw(st.integers(1, 40), label="days")))
        elif roll == 1:
            change_move(p, data)
        else:
            task = data.draw(st.sampled_from(open_tasks), label="task")
            outcome = data.draw(st.sampled_from(task["outcomes"]), label="outcome") if task["outcomes"] else None
            p.complete(task, form(task["step"]), outcome)
        check_invariants(p)


NAMED_SAMPLES = {  # the new templates' steps: what a person would enter (the lists are drawn)
    "plan_day": {"day_date": "2027-03-10", "venue": "Rathaus", "target_audience": "Counsellors"},
    "confirm_speaker": {"speaker": "N. N.", "topic": "Housing"},
    "hold_day": {"held_on": "2027-03-10"}, "table_results": {"results": "Proposals"},
    "documentation": {"summary": "Done"}, "follow_up_action": {"what_was_done": "Done"},
    "record_consent": {"person_name": "N. N.", "consent": True, "consent_on": "2027-01-04"},
    "reintegration_plan": {"plan": "Flat"}, "follow_up_3_months": {"situation": "ok"},
    "follow_up_6_months": {"situation": "ok"}, "closure": {"summary": "Closed"},
}


def named_data(p: Project, step: str, data: st.DataObject) -> dict[str, object]:
    members = [p.state.lead, *p.state.partners]
    if step in ("define_tables", "define_actions"):
        orgs = data.draw(st.lists(st.sampled_from(members), min_size=1, max_size=4), label="named")
        field = "tables" if step == "define_tables" else "actions"
        return {field: [{"org": org, "title": f"entry {i}"} for i, org in enumerate(orgs)]}
    if step == "refer":
        return {"partner": data.draw(st.sampled_from(p.state.partners), label="referred"), "needs": "Housing"}
    return dict(NAMED_SAMPLES.get(step, {}))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(template=st.sampled_from(["expert-day", "return-referral"]), partners=st.integers(1, 3), data=st.data())
def test_random_sequences_of_the_named_templates_keep_every_invariant(template: str, partners: int,
                                                                      data: st.DataObject):
    from templates import TemplateRegistry

    p = Project(partners=PARTNERS[:partners], template=TemplateRegistry().latest(template))
    play_randomly(p, data, 60, lambda step: named_data(p, step, data))
