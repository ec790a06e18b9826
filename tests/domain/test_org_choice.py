"""An org field limited to the project's partners, ``orgs: partners`` (issue #23 item 5): a person is
referred to a partner in the country of return, never to the lead itself."""

from __future__ import annotations

import pytest
import yaml

from domain import InvalidData, TemplateError
from templates import TemplateRegistry, load_template_text
from templates.loader import BUILTIN_DIR
from tests.utils.domain import LEAD, PARTNERS, Project

REGISTRY = TemplateRegistry()
CONSENT = {"person_name": "Ana Petrović", "consent": True, "consent_on": "2027-01-04"}


def _to_refer(version: int) -> Project:
    p = Project(template=REGISTRY.get("return-referral", version))
    p.complete(p.open("record_consent")[0], CONSENT)
    return p


def test_a_person_cannot_be_referred_to_the_lead():
    p = _to_refer(3)
    with pytest.raises(InvalidData) as info:
        p.complete(p.open("refer")[0], {"partner": LEAD, "needs": "Housing"})
    assert info.value.details == {"partner": f"'{LEAD}' is not a partner of this project"}
    p.complete(p.open("refer")[0], {"partner": PARTNERS[0], "needs": "Housing"})
    assert p.open("accept_referral")[0]["assignee"] == PARTNERS[0]


def test_version_2_keeps_what_it_accepted():
    p = _to_refer(2)
    p.complete(p.open("refer")[0], {"partner": LEAD, "needs": "Housing"})
    assert p.open("accept_referral")[0]["assignee"] == LEAD


def test_the_consent_and_the_birth_are_not_in_the_future():
    p = Project(template=REGISTRY.get("return-referral", 3))
    with pytest.raises(InvalidData) as info:
        p.complete(p.open("record_consent")[0], {**CONSENT, "date_of_birth": "2030-01-01", "consent_on": "2031-01-01"})
    assert info.value.details == {"date_of_birth": "must not be later than today",
                                  "consent_on": "must not be later than today"}


def test_orgs_applies_to_fields_that_name_organisations_only():
    data = yaml.safe_load((BUILTIN_DIR / "return-referral.v3.yaml").read_text())
    data["phases"][0]["steps"][1]["form"][1]["orgs"] = "partners"  # needs, a text
    with pytest.raises(TemplateError) as info:
        load_template_text(yaml.safe_dump(data, allow_unicode=True), "t.yaml")
    assert "phases[0].steps[1].form[1].orgs: applies only to org and assignments fields" in info.value.problems
