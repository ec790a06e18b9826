from __future__ import annotations

import pytest

from domain import InvalidData, validate_form
from templates import TemplateRegistry

T = TemplateRegistry().latest("cooperation")
CONCEPT = T.step("concept_note").form
GOOD = {"summary": "Pilot", "budget_eur": "1200.50", "duration_months": 12}


def errors(fields, data) -> dict[str, str]:
    with pytest.raises(InvalidData) as info:
        validate_form(fields, data)
    return info.value.details


def test_valid_data_is_normalised():
    clean = validate_form(CONCEPT, {**GOOD, "budget_eur": 1200.5, "duration_months": "12",
                                    "languages": "DE, sr", "target_groups": ["youth ", ""]})
    assert clean == {"summary": "Pilot", "budget_eur": "1200.5", "duration_months": 12,
                     "languages": ["de", "sr"], "target_groups": ["youth"]}


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"summary": ""}, "summary", "is required"),
    ({"summary": None}, "summary", "is required"),
    ({"summary": 5}, "summary", "must be text"),
    ({"budget_eur": "-1"}, "budget_eur", "must be at least 0"),
    ({"budget_eur": "lots"}, "budget_eur", "must be a number"),
    ({"budget_eur": "NaN"}, "budget_eur", "must be a finite number"),
    ({"duration_months": 61}, "duration_months", "must be at most 60"),
    ({"duration_months": 0}, "duration_months", "must be at least 1"),
    ({"duration_months": 1.5}, "duration_months", "must be a whole number"),
    ({"duration_months": True}, "duration_months", "must be a whole number"),
    ({"languages": ["de", "xx"]}, "languages", "xx is not an ISO 639-1 code"),
    ({"target_groups": [1, 2]}, "target_groups", "must be a list of texts"),
    ({"colour": "red"}, "colour", "is not a field of this step"),
])
def test_each_bad_field_is_named(change, field, message):
    assert errors(CONCEPT, {**GOOD, **change})[field].startswith(message)


def test_all_bad_fields_at_once():
    assert set(errors(CONCEPT, {"budget_eur": "x"})) == {"summary", "budget_eur", "duration_months"}


def test_dates_and_must_be_true():
    assert errors(T.step("application_submitted").form,
                  {"funder": "F", "reference": "R", "submitted_on": "01.02.2027"}) == {
        "submitted_on": "must be a date written YYYY-MM-DD"}
    draft = T.step("draft_agreement").form
    assert errors(draft, {"document_ref": "d", "data_protection_clause": False}) == {
        "data_protection_clause": "must be accepted (true)"}
    assert validate_form(draft, {"document_ref": "d", "data_protection_clause": "on"})[
        "data_protection_clause"] is True


def test_data_must_be_an_object():
    with pytest.raises(InvalidData):
        validate_form(CONCEPT, ["summary"])  # type: ignore[arg-type]
