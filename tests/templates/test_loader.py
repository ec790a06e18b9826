"""Template files from anyone: a template, or a TemplateError naming the file — never a crash or a hang.

The 20 bad files that once got through or crashed the loader are kept here as regression tests,
beside hand-made nasties and a hypothesis fuzz of arbitrary text and of mutated templates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import Template, TemplateError
from settings import Settings
from templates import TemplateRegistry, load_template_file, load_template_text
from templates.loader import BUILTIN_DIR

COOPFLOW = str(Path(sys.executable).parent / "coopflow")
SMALLEST = """\
id: visit
version: 1
title: {en: Study visit, de: Studienbesuch}
phases:
  - key: visit
    steps:
      - key: programme
        assignee: coordinator
        kind: submission
        form:
          - {name: programme, type: text, required: true, label: {en: Programme, de: Programm}}
      - key: confirm
        assignee: each_partner
        kind: signature
        after: [programme]
"""


def step(extra: str = "") -> str:
    return SMALLEST.replace("        after: [programme]\n", f"        after: [programme]\n{extra}")


BAD: dict[str, tuple[str | bytes, str]] = {  # file name: (content, a problem it must name)
    "deep-list": ("[" * 50_000 + "]" * 50_000, "nest"),
    "deep-map": ("a: " + "{a: " * 50_000 + "}" * 50_000, "nest"),
    "huge-int": ("id: x\nversion: " + "9" * 100_000 + "\n", "is too long"),
    "non-utf8": (b"id: visit\ntitle: {de: Stra\xdfe}\n", "not UTF-8"),
    "due-99999-years": (SMALLEST.replace("kind: signature", "kind: signature\n        due: P99999Y"),
                        "phases[0].steps[1].due: P99999Y is longer than 100 years"),
    "due-huge-days": (SMALLEST.replace("kind: signature", "kind: signature\n        due: P9999999999D"),
                      "phases[0].steps[1].due: P9999999999D is longer than 100 years"),
    "report-every-zero": (
        SMALLEST.replace("phases:", "parameters:\n  report_every: {type: duration, default: PT0S}\nphases:"),
        "parameters.report_every.default: PT0S is out of range"),
    "due-zero": (SMALLEST.replace("kind: signature", "kind: signature\n        due: PT0S"),
                 "due must be from one hour"),
    "remind-ten-years": (SMALLEST.replace("phases:", "remind_before: P10Y\nphases:"),
                         "remind_before: P10Y is out of range"),
    "huge-string": ("id: " + "x" * (50 * 1024 * 1024) + "\n", "too large"),
    "many-steps": ("id: x\nversion: 1\nphases:\n  - key: p\n    steps:\n" + "".join(
        f"      - {{key: s{i}, assignee: coordinator, kind: submission}}\n" for i in range(3_000)),
                   "at most 200 steps"),
    "alias-bomb": ("".join(f"{k}: &{k} [{', '.join([f'*{p}' if p else 'x'] * 9)}]\n"
                           for p, k in zip(["", "a", "b", "c", "d", "e"], "abcdef", strict=True)),
                   "more than 20000 values (with every alias written out)"),
    "python-tag": ("id: !!python/object/apply:os.system ['true']\n", "not valid YAML"),
    "year-zero": ("id: visit\nversion: 0000-01-01\n", "not valid YAML"),
    "list-key": ("? [a, b]\n: c\n", "a key must be a name"),
    "duplicate-key": ("id: a\nid: b\n", "line 2: duplicate key 'id'"),
    "not-a-mapping": ("- just\n- a list\n", "(top): a template is a mapping"),
    "unknown-after": (step().replace("after: [programme]", "after: [programm]"),
                      "phases[0].steps[1].after: unknown step 'programm' in phase 'visit'"),
    "named-nowhere": (step().replace("assignee: each_partner", "assignee: named"),
                      "phases[0].steps[1].named_in: a step with assignee 'named' says where"),
    "named-in-a-text": (step("        named_in: {step: programme, field: programme}\n").replace(
        "assignee: each_partner", "assignee: named"),
        "phases[0].steps[1].named_in.field: 'programme' is not a required org or assignments field"),
    # a title goes into mail subjects: one line, or a header of every mail about it breaks
    "step-title-newline": (step("        title: {en: \"Confirm\\nBcc: someone@example.org\"}\n"),
                           "phases[0].steps[1].title.en: must be one line"),
    "phase-title-separator": (
        SMALLEST.replace("  - key: visit\n", "  - key: visit\n    title: {de: \"Besuch\\u2028\"}\n"),
        "phases[0].title.de: must be one line"),
}


@pytest.mark.parametrize("name", BAD)
def test_each_bad_file_is_a_clear_error_naming_the_file(tmp_path: Path, name: str):
    content, says = BAD[name]
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    started = time.monotonic()
    with pytest.raises(TemplateError) as info:
        load_template_file(path)
    assert time.monotonic() - started < 2, "refused quickly"
    assert str(path) in info.value.message
    assert any(says in p for p in info.value.problems), info.value.problems


def test_a_few_aliases_are_fine():
    shared = SMALLEST.replace("title: {en: Study visit, de: Studienbesuch}", "title: &title {en: Visit, de: Besuch}")
    assert load_template_text(shared.replace("kind: signature", "kind: signature\n        title: *title"))


def test_the_smallest_template_is_one_and_the_built_in_ones_too():
    assert load_template_text(SMALLEST).id == "visit"
    assert [t.id for t in TemplateRegistry().all_latest()] == ["cooperation", "expert-day", "return-referral"]


@given(st.text(max_size=300))
@settings(max_examples=200, deadline=None)
def test_any_text_is_a_template_or_a_template_error(text: str):
    try:
        assert isinstance(load_template_text(text, "fuzz.yaml"), Template)
    except TemplateError as exc:
        assert "fuzz.yaml" in exc.message


NASTY_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30), st.floats(),
    st.text(max_size=30), st.sampled_from(["P0D", "PT0S", "P9999Y", "$nope", "named", "assignments", "org", ""]),
    st.lists(st.text(max_size=5), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A built-in template with some values replaced by nasty ones, anywhere in it."""
    name = draw(st.sampled_from(sorted(p.name for p in BUILTIN_DIR.glob("*.yaml"))))
    data = yaml.safe_load((BUILTIN_DIR / name).read_text())
    for _ in range(draw(st.integers(1, 4))):
        node: Any = data
        while True:
            key = draw(st.sampled_from(range(len(node)) if isinstance(node, list) else sorted(node)))
            inner = node[key]
            if not isinstance(inner, (dict, list)) or not inner or draw(st.booleans()):
                node[key] = draw(NASTY_VALUES)
                break
            node = inner
    return yaml.safe_dump(data, allow_unicode=True)


@given(mutated())
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_mutated_template_is_a_template_or_names_what_is_wrong(text: str):
    try:
        load_template_text(text, "mutated.yaml")
    except TemplateError as exc:
        assert exc.problems and all(isinstance(p, str) and ": " in p for p in exc.problems), exc.problems


def test_template_dirs_add_folders_and_refuse_a_second_copy(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "visit.v1.yaml").write_text(SMALLEST)
    configured = Settings(_env_file=None, **{"template_dirs": f"{tmp_path / 'a'}:{tmp_path / 'b'}"})
    assert configured.template_dirs == [tmp_path / "a", tmp_path / "b"]
    registry = TemplateRegistry(*configured.template_dirs)
    assert [t.id for t in registry.all_latest()] == ["cooperation", "expert-day", "return-referral", "visit"]
    (tmp_path / "b" / "copy.yaml").write_text((BUILTIN_DIR / "expert-day.v1.yaml").read_text())
    with pytest.raises(TemplateError, match="expert-day version 1 is also in"):
        TemplateRegistry(*configured.template_dirs)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([COOPFLOW, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def test_templates_check_names_each_problem_and_exits_1(tmp_path: Path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(step("        named_in: {step: programme, field: nothing}\n")
                      .replace("assignee: each_partner", "assignee: named")
                      .replace("after: [programme]", "after: [programme, signing]")
                      .replace("kind: submission", "kind: submission\n        due: P6Y"))
    done = run("templates", "check", str(broken))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [f"{broken}: not a valid template",
                                        "  phases[0].steps[0].due: P6Y is out of range: due must be from one hour "
                                        "(PT1H) to five years (P5Y)"]
    broken.write_text(broken.read_text().replace("due: P6Y", "due: P6W"))
    done = run("templates", "check", str(broken), "--json")
    assert done.returncode == 1
    assert json.loads(done.stdout)["problems"] == [
        "phases[0].steps[1].after: unknown step 'signing' in phase 'visit'",
        "phases[0].steps[1].named_in.field: 'nothing' is not a required org or assignments field of 'programme'"]
    good = tmp_path / "visit.yaml"
    good.write_text(SMALLEST)
    done = run("templates", "check", str(good))
    assert done.returncode == 0 and "template visit version 1, 1 phases, 2 steps: valid" in done.stdout
    done = run("templates", "--json", env={"COOPFLOW_TEMPLATE_DIRS": str(tmp_path / "none")})
    assert done.returncode == 1 and "is not a folder" in done.stderr
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "visit.yaml").write_text(SMALLEST)
    done = run("templates", "--json", env={"COOPFLOW_TEMPLATE_DIRS": str(tmp_path / "more")})
    assert [t["id"] for t in json.loads(done.stdout)] == ["cooperation", "expert-day", "return-referral", "visit"]


def test_the_documented_smallest_template_is_valid():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "templates.md").read_text()
    example = docs.split("## Write a template", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    template = load_template_text(example, "docs/templates.md")
    assert (template.id, [s.key for _, s in template.steps()]) == ("visit", ["programme", "confirm"])
