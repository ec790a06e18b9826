"""What pages say instead of keys: organisation names, role names, step and phase titles, a sentence
for each event, durations as people say them — in the reader's language."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from babel.numbers import format_decimal

from domain import Template, parse_duration, parse_time
from web.i18n import Translator

CLDR_LOCALES = {"sr": "sr_Latn"}  # our Serbian is written in Latin letters


class Words:
    def __init__(self, t: Translator, orgs: Mapping[str, str]) -> None:
        self.t, self.orgs = t, orgs

    def org(self, org_id: str | None) -> str:
        if org_id == "auditor":
            return self.t("the_auditors")
        return self.orgs.get(org_id or "", org_id or "")

    def role(self, role: str) -> str:
        return self.t(f"role_{role}")

    def step(self, template: Template, key: str | None) -> str:
        if not key:
            return ""
        try:
            return self.t.pick(template.step(key).title, key)
        except KeyError:
            return key.replace("_", " ")

    def phase(self, template: Template, key: str | None) -> str:
        if not key:
            return ""
        try:
            return self.t.pick(template.phase(key).title, key)
        except StopIteration:
            return key.replace("_", " ")

    def outcome(self, template: Template, step: str | None, name: str | None) -> str:
        """An outcome's title: of ``step``, or of whichever step has an outcome of that name."""
        steps = [template.step(step)] if step else [s for _, s in template.steps()]
        for candidate in steps:
            found = candidate.outcome(name or "")
            if found is not None:
                return self.t.pick(found.title, found.name)
        return (name or "").replace("_", " ")

    def number(self, value: float, decimals: int | None = None) -> str:
        """A number with the language's decimal separator and grouping (CLDR): "0,6" in sr, de, mk, sq,
        "0.6" in en; ``decimals`` fixes the digits after the separator."""
        pattern = None if decimals is None else "#,##0." + "0" * decimals
        return format_decimal(value, format=pattern, locale=CLDR_LOCALES.get(self.t.lang, self.t.lang))

    def size(self, size: int) -> str:
        """A file's size in KB to one decimal, as the language writes numbers ("0,6 KB", "0.6 KB")."""
        return f"{self.number(round(size / 1024, 1), decimals=1)} KB"

    def when(self, moment: str | None) -> str:
        return parse_time(moment).strftime("%Y-%m-%d %H:%M UTC") if moment else ""

    def duration(self, iso: str) -> str:
        """``P1M`` as "monthly", ``P2W`` as "every 2 weeks" (whatever is not one unit: as given)."""
        try:
            d = parse_duration(iso)
        except ValueError:
            return iso
        for amount, unit in ((d.months % 12 == 0 and d.months // 12, "year"), (d.months, "month")):
            if amount and not d.days and not d.seconds:
                return self.t(f"every_{unit}") if amount == 1 else self.t(f"every_n_{unit}s", n=amount)
        for amount, unit in ((d.days // 7 if d.days % 7 == 0 else 0, "week"), (d.days, "day")):
            if amount and not d.months and not d.seconds:
                return self.t(f"every_{unit}") if amount == 1 else self.t(f"every_n_{unit}s", n=amount)
        if d.seconds and d.seconds % 3600 == 0 and not d.months and not d.days:
            hours = d.seconds // 3600
            return self.t("every_hour") if hours == 1 else self.t("every_n_hours", n=hours)
        return iso

    def span(self, iso: str) -> str:
        """A period as people say it: ``P3Y`` "3 years", ``P18M`` "18 months", ``P2W`` "14 days"."""
        try:
            d = parse_duration(iso)
        except ValueError:
            return iso
        if d.months and not d.days and not d.seconds:
            return self.t.plural("years", d.months // 12) if d.months % 12 == 0 else self.t.plural("months", d.months)
        if d.days and not d.months and not d.seconds:
            return self.t.plural("days", d.days)
        return iso

    def event(self, e: Mapping[str, Any], template: Template, assignees: Mapping[str, str]) -> str:
        """One sentence for an event, e.g. "Caritas Srbija completed “Letter of intent”"."""
        data = e["data"]
        actor = e.get("actor")
        task_org = data.get("assignee") or assignees.get(e.get("task_id") or "", "")
        values = {
            "who": self.org(actor["org"]) if actor else self.t("system"),
            "step": self.step(template, e.get("step")), "phase": self.phase(template, e.get("phase")),
            "org": self.org(data.get("org") or task_org), "outcome": self.outcome(
                template, e.get("step") if e["type"] == "DecisionRecorded" else None, data.get("outcome")),
            "from_org": self.org(data.get("from")), "to_org": self.org(data.get("to")),
            "due": self.when(data.get("due_at") or data.get("opens_at")), "occurrence": data.get("occurrence", ""),
            "status": self.t(f"project_{data.get('status', 'cancelled')}"),
            "values": data.get("values", ""), "documents": data.get("documents", ""),
        }
        if e["type"] == "PersonalDataErased" and not actor:  # the system, when the retention period ended
            return self.t("ev_PersonalDataErased_retention", **values)
        if e["type"] == "TaskHeld" and not actor:  # the system freed it: its holder left the organisation
            return self.t("ev_TaskHeld_freed", **values)
        return self.t(f"ev_{e['type']}", **values)
