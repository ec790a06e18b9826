from __future__ import annotations

import pytest

from domain import CompleteTask, InvalidData, NotAssigned, NotFound, TaskClosed, decide
from tests.utils.domain import AUDITOR, COORDINATOR, PARTNERS, Project, partner
from tests.utils.scenario import SAMPLE_DATA


def test_wrong_organisation_and_wrong_role():
    p = Project()
    (concept,) = p.open()
    with pytest.raises(NotAssigned, match="assigned to organisation 'stadt-dortmund'"):
        p.complete(concept, SAMPLE_DATA["concept_note"], actor=partner(PARTNERS[0]))
    with pytest.raises(NotAssigned):
        p.complete(concept, SAMPLE_DATA["concept_note"], actor=AUDITOR)
    p.complete(concept, SAMPLE_DATA["concept_note"])
    letter = p.open()[0]
    with pytest.raises(NotAssigned):
        p.complete(letter, SAMPLE_DATA["letter_of_intent"], actor=partner(PARTNERS[1]))
    with pytest.raises(NotAssigned):
        p.complete(letter, SAMPLE_DATA["letter_of_intent"], actor=COORDINATOR)


def test_closed_unknown_and_idempotent_retry():
    p = Project()
    (concept,) = p.open()
    p.complete(concept, SAMPLE_DATA["concept_note"], request_id="req-1")
    assert p.complete(concept, SAMPLE_DATA["concept_note"], request_id="req-1") == []
    with pytest.raises(TaskClosed, match="is completed"):
        p.complete(concept, SAMPLE_DATA["concept_note"], request_id="req-2")
    with pytest.raises(NotFound):
        decide(p.state, CompleteTask(task_id="t999", actor=COORDINATOR), p.now)


def test_outcomes_are_checked():
    p = Project()
    p.play(until_step="funding_decision")
    decision = p.open()[0]
    with pytest.raises(InvalidData, match="'maybe' is not one of them"):
        p.complete(decision, {}, "maybe")
    with pytest.raises(InvalidData, match="none was given"):
        p.complete(decision, {})
    p2 = Project()
    with pytest.raises(InvalidData, match="takes no outcome"):
        p2.complete(p2.open()[0], SAMPLE_DATA["concept_note"], "approved")


def test_a_rejected_command_changes_nothing():
    p = Project()
    before = p.state.model_copy(deep=True)
    with pytest.raises(InvalidData):
        p.complete(p.open()[0], {"summary": ""})
    assert p.state == before
