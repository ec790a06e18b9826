"""Parsing a template (every problem as `path: message`) and the cross-reference checks that the field types
cannot express."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from domain.errors import TemplateError
from domain.limits import line_problem
from domain.template import EXTENSION_STEP, NAMING_TYPES, Phase, Step, Template, Titles, check_duration


def check_template(t: Template) -> list[str]:
    """Return ``path: message`` for each broken reference, duplicate or cycle."""
    problems: list[str] = _title_problems(t.title, "title")
    seen: dict[str, str] = {}
    for pi, phase in enumerate(t.phases):
        where = f"phases[{pi}]"
        problems += _title_problems(phase.title, f"{where}.title")
        if phase.key in {p.key for p in t.phases[:pi]}:
            problems.append(f"{where}.key: duplicate phase '{phase.key}'")
        for si, step in enumerate(phase.steps):
            path = f"{where}.steps[{si}]"
            if step.key in seen:
                problems.append(f"{path}.key: duplicate step '{step.key}' (also at {seen[step.key]})")
            seen.setdefault(step.key, path)
            problems += _check_step(t, phase, step, path)
            problems += _check_named(t, pi, phase, step, path)
        problems += _check_cycles(phase, where)
    for name, param in t.parameters.items():
        problems += _title_problems(param.title, f"parameters.{name}.title")
        problems += _check_parameter(name, param.type, param.default, f"parameters.{name}.default", "parameter")
        low, high = param.min, param.max
        if param.type == "int" and isinstance(param.default, int) and not (
                (low is None or low <= param.default) and (high is None or param.default <= high)):
            problems.append(f"parameters.{name}.default: is outside min and max")
    if t.extension_step is not None:
        ext = t.extension_step
        problems += _step_titles(ext, "extension_step")
        if ext.key != EXTENSION_STEP:
            problems.append(f"extension_step.key: must be '{EXTENSION_STEP}'")
        if ext.key in seen:
            problems.append(f"extension_step.key: '{ext.key}' is also a step of a phase ({seen[ext.key]})")
        if ext.kind != "decision" or sorted(o.name for o in ext.outcomes) != ["decline", "grant"]:
            problems.append("extension_step: must be a decision with the outcomes grant and decline")
        if ext.assignee != "coordinator":
            problems.append("extension_step.assignee: must be coordinator")
    elif EXTENSION_STEP in seen:
        problems.append(f"{seen[EXTENSION_STEP]}.key: '{EXTENSION_STEP}' is reserved for requests for more time")
    if t.retention is not None and not t.has_personal_fields():
        problems.append("retention: the template has no personal field whose data it would keep")
    return problems


def _title_problems(titles: Titles, path: str) -> list[str]:
    """A title in each language is one line: titles go into mail subjects, labels beside form fields."""
    return [f"{path}.{lang}: {problem}" for lang, text in titles.items() if (problem := line_problem(text))]


def _step_titles(step: Step, path: str) -> list[str]:
    problems = _title_problems(step.title, f"{path}.title")
    for fi, field in enumerate(step.form):
        problems += _title_problems(field.label, f"{path}.form[{fi}].label")
    for oi, outcome in enumerate(step.outcomes):
        problems += _title_problems(outcome.title, f"{path}.outcomes[{oi}].title")
    return problems


def _check_step(t: Template, phase: Phase, step: Step, path: str) -> list[str]:
    keys = [s.key for s in phase.steps]
    problems = [f"{path}.after: unknown step '{a}' in phase '{phase.key}'" for a in step.after if a not in keys]
    problems += _step_titles(step, path)
    if step.after_each is not None and step.after_each not in keys:
        problems.append(f"{path}.after_each: unknown step '{step.after_each}' in phase '{phase.key}'")
    if step.after_each is not None and step.after:
        problems.append(f"{path}: a step opens either after_each or after, not both")
    names = [f.name for f in step.form]
    for fi, field in enumerate(step.form):
        fpath = f"{path}.form[{fi}]"
        if names.index(field.name) != fi:
            problems.append(f"{fpath}.name: duplicate field '{field.name}'")
        if (field.min is not None or field.max is not None) and field.type not in ("int", "decimal"):
            problems.append(f"{fpath}: min and max apply only to int and decimal fields")
        if (field.not_before or field.not_after) and field.type != "date":
            problems.append(f"{fpath}: not_before and not_after apply only to date fields")
        if field.orgs != "members" and field.type not in NAMING_TYPES:
            problems.append(f"{fpath}.orgs: applies only to org and assignments fields")
        if field.must_be_true and field.type != "bool":
            problems.append(f"{fpath}.must_be_true: applies only to bool fields")
        if field.personal and field.type in NAMING_TYPES:
            problems.append(f"{fpath}.personal: a field that names organisations ({field.type}) cannot be personal: "
                            "it is sealed, and the project must read it")
        if field.subject != "case" and not field.personal:
            problems.append(f"{fpath}.subject: applies only to personal fields")
    if step.kind == "decision" and not step.outcomes:
        problems.append(f"{path}.outcomes: a decision step needs at least one outcome")
    if step.kind != "decision" and step.outcomes:
        problems.append(f"{path}.outcomes: only decision steps have outcomes")
    ancestors = _ancestors(phase, step.key) | {step.key}
    for oi, outcome in enumerate(step.outcomes):
        opath = f"{path}.outcomes[{oi}]"
        if [o.name for o in step.outcomes].index(outcome.name) != oi:
            problems.append(f"{opath}.name: duplicate outcome '{outcome.name}'")
        if outcome.then in ("reopen", "extend"):
            if outcome.step not in keys:
                problems.append(f"{opath}.step: unknown step '{outcome.step}' in phase '{phase.key}'")
            elif outcome.then == "reopen" and outcome.step not in ancestors:
                problems.append(f"{opath}.step: '{outcome.step}' does not come before '{step.key}'")
            elif outcome.then == "extend" and phase.steps[keys.index(outcome.step)].recurrence is None:
                problems.append(f"{opath}.step: '{outcome.step}' does not recur, so it cannot be extended")
        elif outcome.step is not None:
            problems.append(f"{opath}.step: only 'reopen' and 'extend' name a step")
        if outcome.then == "reopen_subject" and step.after_each is None:
            problems.append(f"{opath}.then: reopen_subject needs a step that opens after_each")
        if outcome.then == "end_project" and outcome.status is None:
            problems.append(f"{opath}.status: end_project needs a status (rejected or cancelled)")
    if step.recurrence is not None:
        problems += _check_recurrence(t, step, path)
    return problems


def _check_recurrence(t: Template, step: Step, path: str) -> list[str]:
    problems = []
    for attr, kind in (("count", "int"), ("every", "duration")):
        value = getattr(step.recurrence, attr)
        if isinstance(value, str) and value.startswith("$"):
            param = t.parameters.get(value[1:])
            if param is None:
                problems.append(f"{path}.recurrence.{attr}: unknown parameter '{value[1:]}'")
            elif param.type != kind:
                problems.append(f"{path}.recurrence.{attr}: parameter '{value[1:]}' is not of type {kind}")
        else:
            problems += _check_parameter(attr, kind, value, f"{path}.recurrence.{attr}", "every")
    if step.assignee != "each_partner":
        problems.append(f"{path}.recurrence: only each_partner steps recur")
    return problems


MAX_COUNT = 1000  # occurrences of a recurring step, or an int parameter's default


def _check_parameter(name: str, kind: str, value: object, path: str, duration_kind: str) -> list[str]:
    if kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_COUNT
        return [] if ok else [f"{path}: {name} must be a whole number from 1 to {MAX_COUNT}"]
    try:
        check_duration(str(value), duration_kind)
    except ValueError as exc:
        return [f"{path}: {exc}"]
    return []


def _check_named(t: Template, pi: int, phase: Phase, step: Step, path: str) -> list[str]:
    """A ``named`` step takes its assignees from a required org or assignments field of a step before it."""
    if step.named_in is None:
        return [f"{path}.named_in: a step with assignee 'named' says where: named_in: {{step, field}}"] \
            if step.assignee == "named" else []
    if step.assignee != "named":
        return [f"{path}.named_in: only a step with assignee 'named' has named_in"]
    source = step.named_in
    earlier = {s.key for p in t.phases[:pi] for s in p.steps} | _ancestors(phase, step.key)
    if source.step not in earlier:
        return [f"{path}.named_in.step: '{source.step}' is not a step of an earlier phase nor one this step "
                "opens after"]
    field = next((f for f in t.step(source.step).form if f.name == source.field), None)
    if field is None or field.type not in NAMING_TYPES or not field.required:
        return [f"{path}.named_in.field: '{source.field}' is not a required org or assignments field of "
                f"'{source.step}'"]
    problems = []
    if step.recurrence is not None or step.after_each is not None:
        problems.append(f"{path}: a named step neither recurs nor opens after_each")
    return problems


def _ancestors(phase: Phase, key: str) -> set[str]:
    deps = {s.key: set(s.after) | ({s.after_each} if s.after_each else set()) for s in phase.steps}
    found: set[str] = set()
    todo = list(deps.get(key, ()))
    while todo:
        k = todo.pop()
        if k not in found and k in deps:
            found.add(k)
            todo += deps[k]
    return found


def _check_cycles(phase: Phase, where: str) -> list[str]:
    deps = {s.key: list(s.after) + ([s.after_each] if s.after_each else []) for s in phase.steps}
    state: dict[str, int] = {}

    def visit(key: str, trail: list[str]) -> list[str] | None:
        if state.get(key) == 1:
            return [*trail[trail.index(key):], key]
        if state.get(key) == 2 or key not in deps:
            return None
        state[key] = 1
        for dep in deps[key]:
            cycle = visit(dep, [*trail, key])
            if cycle:
                return cycle
        state[key] = 2
        return None

    for key in deps:
        cycle = visit(key, [])
        if cycle:
            return [f"{where}.steps: cycle {' → '.join(reversed(cycle))}"]
    return []


def descendants(phase: Phase, key: str) -> set[str]:
    """Steps of ``phase`` that (transitively) open after ``key``."""
    return {s.key for s in phase.steps if key in _ancestors(phase, s.key)}


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"


MAX_PHASES = 20
MAX_STEPS = 200  # in all phases together: far more than any cooperation has, and quick to check


def _count_problems(data: Mapping[str, Any]) -> list[str]:
    """Too many phases or steps, told before the (slow) validation of each."""
    phases = data.get("phases")
    if not isinstance(phases, list):
        return []
    if len(phases) > MAX_PHASES:
        return [f"phases: at most {MAX_PHASES} phases (this has {len(phases)})"]
    steps = sum(len(p["steps"]) for p in phases if isinstance(p, Mapping) and isinstance(p.get("steps"), list))
    return [f"phases: at most {MAX_STEPS} steps in all (this has {steps})"] if steps > MAX_STEPS else []


def parse_template(data: Mapping[str, Any], source: str = "template") -> Template:
    """Validate template data; every problem is reported as ``path: message``."""
    too_many = _count_problems(data)
    if too_many:
        raise TemplateError(too_many, source)
    try:
        template = Template.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_path(tuple(e['loc']))}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]
        raise TemplateError(problems, source) from None
    problems = check_template(template)
    if problems:
        raise TemplateError(problems, source)
    return template
