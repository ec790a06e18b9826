"""Dates a template bounds by the day of the completion: ``not_before: today`` and ``not_after: today``
(issue #23 item 6), decided from the command's time so that a replay decides the same."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml

from domain import InvalidData, TemplateError, validate_form
from domain.template import FormField
from templates import TemplateRegistry, load_template_text
from templates.loader import BUILTIN_DIR
from tests.utils.domain import Project

REGISTRY = TemplateRegistry()
NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)  # the clock of tests.utils.domain.Project
PLAN = {"venue": "Rathaus", "target_audience": "Counsellors"}


def _errors(fields: list[FormField], data: dict[str, str], now: datetime) -> dict[str, str]:
    with pytest.raises(InvalidData) as info:
        validate_form(fields, data, now=now)
    return info.value.details


def test_a_bounded_date_is_refused_naming_the_field_and_why():
    born = FormField(name="date_of_birth", type="date", not_after="today")
    day = FormField(name="day_date", type="date", not_before="today")
    assert _errors([born], {"date_of_birth": "2030-05-01"}, NOW) == {"date_of_birth": "must not be later than today"}
    assert _errors([day], {"day_date": "2020-01-01"}, NOW) == {"day_date": "must not be earlier than today"}
    assert validate_form([born, day], {"date_of_birth": "1990-05-01", "day_date": "2027-01-04"}, now=NOW)


def test_today_is_today_somewhere_on_earth():
    """Just after midnight in Skopje it is still yesterday in UTC: today's date there is accepted."""
    born = FormField(name="consent_on", type="date", not_after="today")
    late_evening_utc = datetime(2027, 1, 3, 23, 30, tzinfo=UTC)
    assert validate_form([born], {"consent_on": "2027-01-04"}, now=late_evening_utc)
    assert _errors([born], {"consent_on": "2027-01-05"}, late_evening_utc)
    day = FormField(name="day_date", type="date", not_before="today")
    assert validate_form([day], {"day_date": "2027-01-03"}, now=NOW)  # still the 3rd west of UTC-9
    assert _errors([day], {"day_date": "2027-01-02"}, NOW)


def test_an_expert_day_cannot_be_planned_in_the_past_and_the_time_is_the_commands():
    p = Project(template=REGISTRY.latest("expert-day"))
    task = p.open("plan_day")[0]
    with pytest.raises(InvalidData, match="day_date must not be earlier than today"):
        p.complete(task, {**PLAN, "day_date": "2020-01-01"})
    p.complete(task, {**PLAN, "day_date": "2027-01-04"})  # the project's clock, not the machine's


def test_older_versions_keep_accepting_what_they_accepted():
    p = Project(template=REGISTRY.get("expert-day", 2))
    p.complete(p.open("plan_day")[0], {**PLAN, "day_date": "2020-01-01"})
    assert p.state.tasks


def _problems(mutate) -> str:
    data = yaml.safe_load((BUILTIN_DIR / "expert-day.v3.yaml").read_text())
    mutate(data["phases"][0]["steps"][0]["form"])
    with pytest.raises(TemplateError) as info:
        load_template_text(yaml.safe_dump(data, allow_unicode=True), "t.yaml")
    return "\n".join(info.value.problems)


def test_bounds_apply_to_date_fields_only_and_only_today_is_known():
    assert "form[1]: not_before and not_after apply only to date fields" in _problems(
        lambda form: form[1].update(not_after="today"))  # venue, a text
    assert "form[0].not_before: Input should be 'today'" in _problems(lambda form: form[0].update(not_before="x"))


def test_a_template_without_bounds_dumps_as_before():
    """The dump of a template is in its projects' first event and hashed: unchanged for old versions."""
    dumped = REGISTRY.get("expert-day", 2).model_dump(mode="json")
    fields = [f for p in dumped["phases"] for s in p["steps"] for f in s["form"]]
    assert not [f for f in fields if "not_before" in f or "not_after" in f]
