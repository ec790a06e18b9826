from __future__ import annotations

import pytest
import yaml

from domain import TemplateError
from templates import TemplateRegistry, load_template_text
from templates.loader import BUILTIN_DIR

DEFAULT = (BUILTIN_DIR / "cooperation.v1.yaml").read_text()


def broken(mutate) -> str:
    data = yaml.safe_load(DEFAULT)
    mutate(data)
    return yaml.safe_dump(data, allow_unicode=True)


def problems_of(text: str) -> list[str]:
    with pytest.raises(TemplateError) as info:
        load_template_text(text, "t.yaml")
    assert "t.yaml is not a valid template" in info.value.message
    return info.value.problems


def test_default_template_matches_the_contract():
    t = TemplateRegistry().latest("cooperation")
    assert (t.id, t.version) == ("cooperation", 4)
    assert (t.remind_before, t.escalate_after) == ("P3D", "P3D")
    v1, v2 = TemplateRegistry().get("cooperation", 1), TemplateRegistry().get("cooperation", 2)
    assert (v1.remind_before, v1.escalate_after) == (None, None) and v1.phases == v2.phases
    files = {s.key: [f.name for f in s.form if f.type == "file"] for _, s in t.steps() if s.form}
    assert {k: v for k, v in files.items() if v} == {
        "draft_agreement": ["agreement"], "sign_agreement": ["signed_copy"], "countersign_agreement": ["signed_copy"],
        "progress_report": ["attachment"], "evaluation_report": ["report"]}
    assert all(not f.required for _, s in t.steps() for f in s.form if f.type == "file")
    bounded = {"submitted_on", "started_on"}  # version 4: no later than today
    assert [[f.model_copy(update={"not_after": None}) if f.name in bounded else f for f in s.form if f.type != "file"]
            for _, s in t.steps()] == [s.form for _, s in v2.steps()]
    assert {f.name for _, s in t.steps() for f in s.form if f.not_after == "today"} == bounded
    assert [p.key for p in t.phases] == ["funding_application", "partner_agreement", "pilot", "evaluation"]
    assert [s.key for _, s in t.steps()] == [
        "concept_note", "letter_of_intent", "application_submitted", "funding_decision",
        "draft_agreement", "review_agreement", "sign_agreement", "countersign_agreement",
        "kickoff", "progress_report", "report_review", "milestone_review",
        "self_evaluation", "evaluation_report", "audit_signoff"]
    assignees = {s.key: s.assignee for _, s in t.steps()}
    assert assignees["letter_of_intent"] == "each_partner" and assignees["audit_signoff"] == "auditor"
    assert {o.name for o in t.step("funding_decision").outcomes} == {"approved", "revise", "rejected"}
    assert t.step("progress_report").due == "P30D" and t.step("concept_note").due == "P14D"
    budget = next(f for f in t.step("concept_note").form if f.name == "budget_eur")
    assert (budget.type, budget.required, budget.min) == ("decimal", True, 0)
    assert t.parameters["report_count"].default == 3 and t.parameters["report_every"].default == "P1M"


def test_unknown_after_names_the_path():
    text = broken(lambda d: d["phases"][2]["steps"][1].update(after=["kikoff"]))
    assert "phases[2].steps[1].after: unknown step 'kikoff' in phase 'pilot'" in problems_of(text)


def test_cycle_is_reported():
    text = broken(lambda d: d["phases"][0]["steps"][0].update(after=["funding_decision"]))
    (problem,) = problems_of(text)
    assert problem.startswith("phases[0].steps: cycle ") and "concept_note" in problem


def test_unknown_outcome_target():
    text = broken(lambda d: d["phases"][0]["steps"][3]["outcomes"][1].update(step="concept_nte"))
    assert "phases[0].steps[3].outcomes[1].step: unknown step 'concept_nte' in phase 'funding_application'" \
        in problems_of(text)


def test_duplicate_step_keys_across_phases():
    text = broken(lambda d: d["phases"][3]["steps"][0].update(key="kickoff"))
    assert any(p.startswith("phases[3].steps[0].key: duplicate step 'kickoff' (also at phases[2].steps[0])")
               for p in problems_of(text))


def test_duplicate_yaml_keys_are_refused():
    text = DEFAULT.replace("version: 1\n", "version: 1\nversion: 2\n")
    assert problems_of(text) == ["line 5: duplicate key 'version'"]


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda d: d["phases"][0]["steps"][0].update(due="two weeks"),
     "phases[0].steps[0].due: 'two weeks' is not an ISO 8601 duration"),
    (lambda d: d["phases"][0]["steps"][0].update(kind="essay"), "phases[0].steps[0].kind: Input should be"),
    (lambda d: d["phases"][0]["steps"][0]["form"][0].update(type="money"), "phases[0].steps[0].form[0].type"),
    (lambda d: d["phases"][2]["steps"][1]["recurrence"].update(count="$reports"),
     "phases[2].steps[1].recurrence.count: unknown parameter 'reports'"),
    (lambda d: d["phases"][0]["steps"][3].update(outcomes=[]),
     "phases[0].steps[3].outcomes: a decision step needs at least one outcome"),
    (lambda d: d["phases"][3]["steps"][2]["outcomes"][1].update(step="self_evaluation", then="extend"),
     "phases[3].steps[2].outcomes[1].step: 'self_evaluation' does not recur"),
    (lambda d: d["phases"][1]["steps"][0]["form"][1].update(type="text"),
     "phases[1].steps[0].form[1].must_be_true: applies only to bool fields"),
    (lambda d: d.update(phases=[]), "phases: List should have at least 1 item"),
    (lambda d: d["phases"][0]["steps"][0].update(colour="red"), "phases[0].steps[0].colour: Extra inputs"),
])
def test_each_broken_template_names_its_field(mutate, expected):
    assert any(p.startswith(expected) for p in problems_of(broken(mutate))), problems_of(broken(mutate))


def test_not_yaml_at_all():
    assert problems_of("phases: [unclosed")[0].startswith("not valid YAML")


def test_step_lookups_are_kept_yet_follow_a_copy_with_other_phases():
    template = TemplateRegistry().latest("cooperation")
    assert template.step("kickoff").key == "kickoff" and template.step("kickoff") is template.step("kickoff")
    first_phase_only = template.model_copy(update={"phases": template.phases[:1]})
    with pytest.raises(KeyError, match="kickoff"):
        first_phase_only.step("kickoff")
    assert template.model_dump() == type(template).model_validate(template.model_dump()).model_dump()
    assert not template.has_personal_fields() and TemplateRegistry().latest("return-referral").has_personal_fields()
