"""Property tests over the whole input surface: whatever JSON a caller sends to start a project or to
complete a task, the application layer answers with a ``DomainError`` (a clear message) or goes on —
never another exception; and whatever durations and counts are accepted keep a project advancing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from domain import DomainError, StartProject, summary_view, task_view
from services.app import Coopflow
from store import record_batch
from tests.utils.domain import COORDINATOR, Project
from tests.utils.domain import partner as partner_actor
from tests.utils.scenario import SAMPLE_DATA

# JSON as callers send it: any scalar, text with control characters and lone surrogates, nesting
TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40) | st.sampled_from(
    ["", " ", "\x00", "a\udfffb", "x" * 30_000, "P1M", "caritas-rs", "1e400", "NaN", "-1", "2027-02-30"])
SCALAR = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | TEXT
JSON = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                    max_leaves=12)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(params=["sqlite", "postgresql"])
def stored(request: pytest.FixtureRequest) -> tuple[Coopflow, str]:
    """The application layer without Temporal (it fails before or goes on), and a stored project."""
    engine: Engine = request.getfixturevalue(f"{request.param}_engine")
    project = Project()
    project.state = project.state.model_copy(update={"id": f"props{request.param[:2]}{id(project) % 10**5:05d}"})
    record_batch(engine, project=summary_view(project.state), events=project.events,
                 tasks=[task_view(project.state, t) for t in project.state.tasks.values()])
    return Coopflow(engine=engine, client=None, task_queue="unused"), project.state.id  # type: ignore[arg-type]


def lead_of(app: Coopflow) -> Any:
    from tests.utils.app import LEAD, actor

    return actor(app, LEAD)


@SETTINGS
@given(title=JSON, partners=JSON, parameters=JSON, template=JSON, key=st.none() | TEXT)
def test_any_project_start_is_refused_clearly_or_prepared(stored: tuple[Coopflow, str], title: Any, partners: Any,
                                                          parameters: Any, template: Any, key: Any):
    app, _ = stored
    try:
        prepared = app._prepare_start(lead_of(app), title, partners, template, parameters, key)
    except DomainError as error:
        assert error.message and error.code
        error.message.encode("utf-8")  # always printable
        return
    assert isinstance(prepared, StartProject | dict)


@SETTINGS
@given(data=JSON, outcome=JSON, comment=JSON, key=st.none() | TEXT, task=st.sampled_from(["t1", "t2", "t0", "x"]))
def test_any_completion_is_refused_clearly_or_prepared(stored: tuple[Coopflow, str], data: Any, outcome: Any,
                                                       comment: Any, key: Any, task: str):
    app, pid = stored
    try:
        prepared = app._prepare_completion(lead_of(app), pid, task, data, outcome, comment, key)
    except DomainError as error:
        assert error.message and error.code
        error.message.encode("utf-8")
        return
    assert isinstance(prepared, tuple | dict)
    if isinstance(prepared, tuple):  # what goes to Temporal is what it can take: encodable, bounded
        prepared[0].model_dump_json()


DURATION = st.builds(lambda n, unit: f"P{n}{unit}" if unit in "YMWD" else f"PT{n}{unit}",
                     st.integers(0, 200), st.sampled_from(["Y", "M", "W", "D", "H"]))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(every=DURATION, count=st.integers(0, 80))
def test_every_accepted_report_schedule_keeps_the_project_advancing(every: str, count: int):
    """A schedule the start accepts never breaks the project later: all reports open, review follows."""
    try:
        project = Project(parameters={"report_count": count, "report_every": every}, partners=["caritas-rs"])
    except DomainError:
        return  # refused at the start, with a message: fine
    project.play(loops=False, until_step="progress_report")
    for _ in range(count + 2):
        reports = project.open("progress_report")
        for task in reports:
            project.complete(task, SAMPLE_DATA["progress_report"], actor=partner_actor("caritas-rs"))
        for review in project.open("report_review"):
            project.complete(review, SAMPLE_DATA["report_review"], "accept", actor=COORDINATOR)
        if project.open("milestone_review"):
            break
        wake = min((s.at for s in project.state.scheduled), default=None)
        assert wake is not None, "reports remain but nothing is scheduled"
        from domain import parse_time

        project.tick(parse_time(wake) + timedelta(seconds=1))
    assert project.open("milestone_review"), f"the milestone review never opened for {count} × {every}"
    assert len([t for t in project.tasks(step="progress_report")]) == count
