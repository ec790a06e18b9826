"""The default template's dates make sense from version 4 on: an application is submitted, and a pilot
started, no later than today; a project pinned to version 3 keeps accepting what it accepted."""

from __future__ import annotations

import pytest

from domain import InvalidData
from templates import TemplateRegistry
from tests.utils.domain import Project
from tests.utils.scenario import SAMPLE_DATA

REGISTRY = TemplateRegistry()


def at_submission(version: int) -> tuple[Project, dict]:
    p = Project(template=REGISTRY.get("cooperation", version))
    p.play(loops=False, until_step="application_submitted")
    return p, p.open("application_submitted")[0]


def test_an_application_submitted_in_the_future_is_refused_from_version_4():
    p, task = at_submission(4)
    with pytest.raises(InvalidData) as refused:
        p.complete(task, {**SAMPLE_DATA["application_submitted"], "submitted_on": "2030-01-01"})
    assert refused.value.details == {"submitted_on": "must not be later than today"}
    p.complete(task, SAMPLE_DATA["application_submitted"])  # a date in the past is fine


def test_version_3_keeps_accepting_what_it_accepted():
    p, task = at_submission(3)
    p.complete(task, {**SAMPLE_DATA["application_submitted"], "submitted_on": "2030-01-01"})
