"""Mails about changes that concern someone, each saying who did it and why:

| event | mail | to |
|---|---|---|
| PartnerAdded, PartnerWithdrawn | partner_added, partner_withdrawn | that partner and the lead organisation |
| StepSuperseded, by a decision of the same write | task_superseded | the organisation that owed the task |
| DecisionRecorded on more time | more_time_granted, more_time_declined | the organisation that asked |

(A task superseded because the project ended says so in the project's own mail.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domain import Event
from domain.template import EXTENSION_STEP


@dataclass
class Change:
    """One such mail: its kind, to whom, about which organisation, its link, and what its text names."""

    kind: str
    to: list[str]
    org: str
    link: str
    who: str  # the organisation that made the change
    values: dict[str, str] = field(default_factory=dict)
    comment: str = ""


def change_mail(e: Event, *, project: dict[str, Any], tasks: dict[str, dict[str, Any]],
                assignees: dict[str, str], decision: Event | None, ended: bool) -> Change | None:
    """The mail ``e`` causes as a change, if any; ``decision`` is the latest decision of the same write."""
    actor = e.actor.org if e.actor else ""
    where = f"/projects/{project['id']}"
    if e.type in ("PartnerAdded", "PartnerWithdrawn"):
        kind = "partner_added" if e.type == "PartnerAdded" else "partner_withdrawn"
        return Change(kind, [e.data["org"], project["lead"]], e.data["org"], where, actor,
                      {"reason": str(e.data.get("reason", ""))})
    if e.type == "StepSuperseded" and decision is not None and not ended and e.step != EXTENSION_STEP:
        org = assignees.get(e.task_id or "", "")
        if not org or decision.actor is None or decision.actor.org == org:
            return None
        return Change("task_superseded", [org], org, f"{where}/tasks/{e.task_id}", decision.actor.org,
                      {"outcome": str(decision.data.get("outcome", "")), "decided_step": decision.step or ""},
                      _comment(decision))
    if e.type == "TaskHeld":  # activities/mail_people.py
        org, link = assignees.get(e.task_id or "", ""), f"{where}/tasks/{e.task_id}"
        if e.data.get("cause") == "user_removed":
            return Change("task_freed", [org], org, link, org, {"person": f"user:{e.data.get('from')}"})
        if e.data.get("holder") and e.actor is not None and e.actor.user != e.data["holder"]:
            return Change("task_handed", [org], org, link, actor, {"person": f"user:{e.actor.user}"})
        return None
    if e.type == "DecisionRecorded" and e.step == EXTENSION_STEP:
        task = tasks.get(e.task_id or "", {})
        org = task.get("subject_org") or ""
        if not org:
            return None
        kind = "more_time_granted" if e.data.get("outcome") == "grant" else "more_time_declined"
        return Change(kind, [org], org, f"{where}/tasks/{task.get('subject_task', e.task_id)}", actor,
                      {"requested": str(task.get("requested_due") or "")}, _comment(e))
    return None


def _comment(decision: Event) -> str:
    """A decision's comment (its own, or its form's ``comment``); a sealed one is not quoted."""
    found = decision.data.get("comment") or decision.data.get("form", {}).get("comment")
    return found.strip() if isinstance(found, str) else ""
