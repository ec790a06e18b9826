"""A start whose first event names its template by digest (``digest_in_first_event``): the event carries
``template_ref`` (id, version, the SHA-256 of the template's canonical JSON) and not the template; folded onto
the pinned template it gives the very state the decision had. A start without the flag (every input recorded
before it) decides the first event as before, the whole template in it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain import CompleteTask, ProjectState, StartProject, decide, fold, project_view, started_state
from domain.tally import template_digest
from templates import TemplateRegistry
from tests.utils.domain import COORDINATOR, LEAD, PARTNERS, Project
from tests.utils.scenario import SAMPLE_DATA

AT = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


def a_start(**flag: bool) -> StartProject:
    return StartProject(project_id="p-digest", title="Return counselling pilot",
                        template=TemplateRegistry().latest("cooperation"), lead=LEAD, partners=PARTNERS,
                        parameters={"report_count": 1}, actor=COORDINATOR, **flag)


def test_a_start_by_digest_names_its_template_and_folds_onto_it():
    command = a_start(digest_in_first_event=True)
    assert command.template is not None
    events = decide(ProjectState(), command, AT)
    first = events[0].data
    text = command.template.model_dump(mode="json")
    assert "template" not in first
    assert first["template_ref"] == {"id": "cooperation", "version": command.template.version,
                                     "digest": template_digest(text)}
    assert len(str(first)) < 1_000, "the template alone is about 18 KB"
    state = fold(events, started_state(command.template))
    assert state.template == command.template and state.template_ref is not None
    assert state.template_ref.digest == template_digest(text)
    assert unchained(project_view(state)) == unchained(project_view(fold(decide(ProjectState(), a_start(), AT))))


def test_without_the_flag_the_first_event_holds_the_template_as_before():
    command = a_start()
    assert command.digest_in_first_event is False, "inputs recorded before the flag decide as they did"
    (first, *_) = decide(ProjectState(), command, AT)
    assert command.template is not None and first.data["template"] == command.template.model_dump(mode="json")
    assert "template_ref" not in first.data


def test_a_trail_by_digest_folded_without_its_template_says_what_is_missing():
    events = decide(ProjectState(), a_start(digest_in_first_event=True), AT)
    state = fold(events)
    assert state.template is None and state.template_ref is not None
    with pytest.raises(ValueError, match=f"digest {state.template_ref.digest}.*not at hand"):
        project_view(state)
    other = TemplateRegistry().latest("expert-day")
    with pytest.raises(ValueError, match="started with template cooperation"):
        fold(events, started_state(other))


def test_a_project_by_digest_runs_as_one_that_holds_its_template():
    """The same commands give the same events but for the first one's data (and so every hash after it)."""
    by_text = Project()  # started at AT, the whole template in its first event
    command = a_start(digest_in_first_event=True).model_copy(update={"project_id": "p-test", "parameters": {}})
    assert command.template == by_text.state.template
    events = decide(ProjectState(), command, AT)
    state = fold(events, started_state(command.template))
    assert [(e.type, e.data) for e in events[1:]] == [(e.type, e.data) for e in by_text.events[1:]]
    (task,) = by_text.open("concept_note")
    complete = CompleteTask(task_id=task["id"], actor=COORDINATOR, data=SAMPLE_DATA["concept_note"])
    later = decide(state, complete, by_text.now)
    assert [(e.type, e.data) for e in later] == [(e.type, e.data) for e in by_text.run(complete)]
    assert unchained(project_view(fold(later, state))) == unchained(project_view(by_text.state))


def unchained(view: dict[str, object]) -> dict[str, object]:
    """A project's view but its chain's head (the first events differ, and so does every hash after them)."""
    return {k: v for k, v in view.items() if k != "head"}
