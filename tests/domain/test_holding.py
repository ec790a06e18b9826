"""Who holds a task, in the pure domain: the rules of ``domain/holding.py`` and what ``TaskHeld`` folds into."""

from __future__ import annotations

import pytest

from domain import Actor, CompleteTask, HoldTask, InvalidRequest, NotAssigned, TaskClosed, fold, verify_chain
from tests.utils.domain import COORDINATOR, PARTNERS, Project, partner
from tests.utils.scenario import SAMPLE_DATA

CARITAS = PARTNERS[0]
ANA = Actor(user="u-ana", org=CARITAS, role="partner")
MARKO = Actor(user="u-marko", org=CARITAS, role="partner")


def letters() -> tuple[Project, str]:
    p = Project()
    p.complete(p.open("concept_note")[0], SAMPLE_DATA["concept_note"])
    return p, next(t["id"] for t in p.open("letter_of_intent") if t["assignee"] == CARITAS)


def test_hand_overs_fold_into_the_holder_and_replay_from_the_events():
    p, tid = letters()
    p.run(HoldTask(task_id=tid, actor=ANA, holder=ANA))
    assert p.run(HoldTask(task_id=tid, actor=ANA, holder=ANA)) == []  # as it is already: nothing recorded
    p.run(HoldTask(task_id=tid, actor=ANA, holder=MARKO))
    p.run(HoldTask(task_id=tid, actor=COORDINATOR, holder=ANA))  # the lead's coordinator assigns
    held = [e for e in p.events if e.type == "TaskHeld"]
    assert [(e.actor.user if e.actor else None, e.data) for e in held] == [
        ("u-ana", {"holder": "u-ana", "from": None}), ("u-ana", {"holder": "u-marko", "from": "u-ana"}),
        ("u-coord", {"holder": "u-ana", "from": "u-marko"})]
    assert p.tasks(id=tid)[0]["holder"] == {"user_id": "u-ana"}
    assert fold(p.events).tasks[tid].held_by == "u-ana" and verify_chain([e.model_dump() for e in p.events])["ok"]


def test_who_may_say_who_holds_it():
    p, tid = letters()
    with pytest.raises(NotAssigned):  # another partner: as for completing
        p.run(HoldTask(task_id=tid, actor=partner(PARTNERS[1]), holder=partner(PARTNERS[1])))
    for holder in (partner(PARTNERS[1]), Actor(user="u-x", org=CARITAS, role="auditor")):
        with pytest.raises(InvalidRequest) as refused:  # not of the owing organisation (or not able to do it)
            p.run(HoldTask(task_id=tid, actor=COORDINATOR, holder=holder))
        assert refused.value.details == {"user": "is not a person of the organisation that owes the task"}
    p.complete(p.tasks(id=tid)[0], SAMPLE_DATA["letter_of_intent"], actor=MARKO)
    with pytest.raises(TaskClosed):
        p.run(HoldTask(task_id=tid, actor=ANA, holder=ANA))


def test_the_system_frees_only_what_the_person_who_left_still_holds_and_reassigning_frees_it():
    p, tid = letters()
    p.run(HoldTask(task_id=tid, actor=ANA, holder=MARKO))
    assert p.run(HoldTask(task_id=tid, actor=None, release_of="u-ana")) == []  # Ana holds nothing
    freed = p.run(HoldTask(task_id=tid, actor=None, release_of="u-marko"))
    assert [(e.actor, e.data) for e in freed] == [(None, {"holder": None, "from": "u-marko", "cause": "user_removed"})]
    p.run(HoldTask(task_id=tid, actor=ANA, holder=ANA))
    p.change("reassign", task_id=tid, org=PARTNERS[1])
    assert p.state.tasks[tid].held_by is None


def test_a_substitutes_completion_names_the_holder_it_acts_for():
    p, tid = letters()
    p.run(HoldTask(task_id=tid, actor=ANA, holder=ANA))
    with pytest.raises(InvalidRequest):  # on behalf of someone who does not hold it
        p.run(CompleteTask(task_id=tid, actor=MARKO, data=SAMPLE_DATA["letter_of_intent"], on_behalf_of_user="u-x"))
    done = p.run(CompleteTask(task_id=tid, actor=MARKO, data=SAMPLE_DATA["letter_of_intent"],
                              on_behalf_of_user="u-ana"))
    assert done[0].data["on_behalf_of_user"] == "u-ana" and done[0].actor == MARKO
    other = next(t for t in p.open("letter_of_intent") if t["assignee"] == PARTNERS[1])
    assert "on_behalf_of_user" not in p.complete(other, SAMPLE_DATA["letter_of_intent"])[0].data  # as before
