"""A form names an organisation as people know it ("Caritas Srbija") or by its id ("caritas-rs"): names are
turned into ids before the domain checks the form, which keeps ids."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.template import Step


def names_the_orgs(step: Step) -> bool:
    """Whether the step's form has a field that names organisations (``org``, ``assignments``)."""
    return any(field.type in ("org", "assignments") for field in step.form)


def org_ids(step: Step, data: Any, names: Mapping[str, str]) -> Any:
    """``data`` with every organisation named by its name (any case, spaces around it) named by its id:
    an ``org`` field's value, an ``assignments`` entry's ``org``, or the first part of each line of an
    ``assignments`` text box (``organisation | title | YYYY-MM-DD``). ``names``: each organisation's name by id.
    What names no organisation (or two) is left as it was, for the domain to refuse naming its line."""
    if not isinstance(data, dict):
        return data
    by_name: dict[str, str | None] = {}
    for org, name in names.items():
        key = name.strip().casefold()
        by_name[key] = org if key not in by_name else None  # a name two organisations share names neither

    def org_id(value: Any) -> Any:
        if not isinstance(value, str) or value.strip() in names:
            return value
        return by_name.get(value.strip().casefold()) or value

    found = dict(data)
    for field in (f for f in step.form if f.name in data):
        value = data[field.name]
        if field.type == "org":
            found[field.name] = org_id(value)
        elif field.type == "assignments" and isinstance(value, str):
            found[field.name] = "\n".join(_line(line, org_id) for line in value.split("\n"))
        elif field.type == "assignments" and isinstance(value, list):
            found[field.name] = [{**entry, "org": org_id(entry["org"])} if isinstance(entry, dict) and "org" in entry
                                 else _line(entry, org_id) if isinstance(entry, str) else entry for entry in value]
    return found


def _line(line: str, org_id: Any) -> str:
    """A line of an assignments box with its first part (the organisation) named by id."""
    if "|" not in line:
        return line
    head, rest = line.split("|", 1)
    named = org_id(head)
    return line if named is head else f"{named} |{rest}"
