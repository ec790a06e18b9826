"""An audit event's data as labelled values in the reader's language, for the audit page's data column:
what a person reads instead of the event's JSON (which stays in the exports, under its hash)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain import InvalidRequest, Template
from domain.personal import is_sealed
from web.words import Words

# data keys the page leaves out: the event column says them already (the reason), the template is the
# project's own (its title is on the page), and a request id only tells retries apart
_SKIPPED = frozenset({"reason", "template", "template_ref", "request_id", "project_id"})
_ORGS = frozenset({"assignee", "subject_org", "lead", "org", "to"})
_PERSONS = frozenset({"holder", "on_behalf_of_user"})  # user ids: shown by the person's name
_MOMENTS = frozenset({"due_at", "requested_due", "opens_at"})
_LABELS = {"title": "title", "lead": "lead", "partners": "partners", "parameters": "parameters",
           "assignee": "assignee", "round": "round", "occurrence": "occurrence", "due_at": "due",
           "comment": "comment", "status": "status"}  # data keys whose label the page has already


def event_details(w: Words, e: Mapping[str, Any], template: Template,
                  people: Mapping[str, str] | None = None) -> list[tuple[str, Any]]:
    """(label, value) for each of an event's values: a value is a text, a document (a mapping with its
    sha256, for its link) or None (an erased personal value). Field labels come from the template, in the
    reader's language; organisations by name, people (``people``: names by user id) by name, moments and
    durations as people read them."""
    data = e.get("data") or {}
    shown: list[tuple[str, Any]] = []
    for key, value in data.items():
        if key in _SKIPPED or (value is None and key != "form"):
            continue
        if key == "form" and isinstance(value, dict):
            shown += _form(w, e, template, value)
        elif key == "parameters" and isinstance(value, dict):
            shown += [(w.t.pick(template.parameters[k].title, k) if k in template.parameters else k,
                       _parameter(w, template, k, v)) for k, v in value.items()]
        elif key in _PERSONS or (key == "from" and e["type"] == "TaskHeld"):  # a hand-over names people
            shown.append((w.t(f"data_{key}"), (people or {}).get(str(value)) or w.t("a_person")))
        elif key == "cause":
            shown.append((w.t("data_cause"), w.t(f"cause_{value}")))
        else:
            shown.append((_label(w, e["type"], key), _value(w, e, template, key, value)))
    return shown


def _label(w: Words, event_type: str, key: str) -> str:
    if key == "from":
        return w.t("data_from_due" if event_type == "DeadlineExtended" else "data_from_org")
    return w.t(_LABELS.get(key, f"data_{key}"))


def _value(w: Words, e: Mapping[str, Any], template: Template, key: str, value: Any) -> str:
    if key in _ORGS or (key == "from" and e["type"] != "DeadlineExtended"):
        return w.org(str(value))
    if key in _MOMENTS or key == "from":
        return w.when(str(value))
    if key == "partners":
        return ", ".join(w.org(o) for o in value)
    if key == "kind":
        return w.t(f"kind_{value}")
    if key == "outcome":
        return w.outcome(template, e.get("step") if e["type"] == "DecisionRecorded" else None, str(value))
    if key == "status":
        return w.t(f"project_{value}")
    if key == "rounds" and isinstance(value, Mapping):  # each step's round, by the step's title
        return "; ".join(f"{w.step(template, step)}: {n}" for step, n in value.items())
    if key == "subject_task":
        return w.t("data_task_ref", task=value)
    return _plain(w, value)


def _parameter(w: Words, template: Template, key: str, value: Any) -> str:
    known = template.parameters.get(key)
    return w.duration(str(value)) if known is not None and known.type == "duration" else _plain(w, value)


def _form(w: Words, e: Mapping[str, Any], template: Template, form: dict[str, Any]) -> list[tuple[str, Any]]:
    try:
        fields = {f.name: f for f in template.step(e["step"]).form} if e.get("step") else {}
    except (KeyError, InvalidRequest):
        fields = {}
    shown: list[tuple[str, Any]] = []
    for name, value in form.items():
        field = fields.get(name)
        label = w.t.pick(field.label, name) if field is not None and field.label else name.replace("_", " ")
        if value is None or (isinstance(value, Mapping) and value.get("sha256")):
            shown.append((label, value))  # erased, or a document for its link
        elif field is not None and field.type == "org":
            shown.append((label, w.org(str(value))))
        elif field is not None and field.type == "assignments" and isinstance(value, list):
            shown.append((label, "; ".join(f"{w.org(a.get('org'))}: {a.get('title', '')}"
                                           + (f" ({a['due']})" if a.get("due") else "") for a in value)))
        elif field is not None and field.type == "decimal" and isinstance(value, int | float):
            shown.append((label, w.number(value)))
        else:
            shown.append((label, _plain(w, value)))
    return shown


def _plain(w: Words, value: Any) -> str:
    """A value with no meaning of its own here: yes/no, a list, a number or text (a sealed one as sealed)."""
    if isinstance(value, bool):
        return w.t("word_yes" if value else "word_no")
    if is_sealed(value):
        return w.t("pd_sealed_short")
    if isinstance(value, list):
        return ", ".join(_plain(w, v) for v in value)
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_plain(w, v)}" for k, v in value.items())
    return str(value)
