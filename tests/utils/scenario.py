"""A scripted walk through the default template: sample data and which outcome to choose.

Used by the tests, the benchmark and the README walkthrough, so that all three exercise
the same lifecycle. ``loops=True`` takes every loop-back once (revise, request_changes on
the agreement, a report sent back, extend, audit findings); ``loops=False`` goes straight.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from domain import Actor, CompleteTask, ProjectState

SAMPLE_DATA: dict[str, dict[str, Any]] = {
    "concept_note": {"summary": "Return counselling and reintegration pilot", "objectives": "Safe returns",
                     "target_groups": ["returnees", "families"], "languages": ["de", "sr", "mk", "sq"],
                     "budget_eur": "250000.00", "duration_months": 24},
    "letter_of_intent": {"contribution": "Counselling staff and premises", "contact_person": "Programme lead"},
    "application_submitted": {"funder": "AMIF", "reference": "AMIF-2027-042", "submitted_on": "2026-02-01"},
    "funding_decision": {"conditions": "Quarterly financial reporting"},
    "draft_agreement": {"document_ref": "agreements/2027/cooperation-v1.pdf", "data_protection_clause": True},
    "review_agreement": {"comment": "Reviewed by our board"},
    "sign_agreement": {"signatory": "Executive director"},
    "countersign_agreement": {"signatory": "Head of the integration office"},
    "kickoff": {"started_on": "2026-04-01", "plan": "Monthly counselling days"},
    "progress_report": {"period": "April 2027", "activities": "12 counselling days", "people_reached": 85},
    "report_review": {"comment": "Thank you"},
    "milestone_review": {"comment": "Pilot on track"},
    "self_evaluation": {"results": "340 people counselled", "lessons": "Start outreach earlier", "rating": 4},
    "evaluation_report": {"summary": "The pilot met its targets", "recommendations": "Scale up"},
    "audit_signoff": {"findings": "None"},
    "extension_decision": {"comment": "Agreed"},
}

_LOOPS = {"funding_decision": "revise", "review_agreement": "request_changes",
          "report_review": "request_changes", "milestone_review": "extend", "audit_signoff": "findings",
          "extension_decision": "grant"}
_STRAIGHT = {"funding_decision": "approved", "review_agreement": "accept", "report_review": "accept",
             "milestone_review": "complete", "audit_signoff": "approved", "extension_decision": "grant"}


def choose_outcome(task: Mapping[str, Any], first_partner: str, loops: bool = True) -> str | None:
    """The outcome the scripted lifecycle picks for ``task`` (None for non-decisions)."""
    step = task["step"]
    if step not in _STRAIGHT:
        return None
    if loops and task["round"] == 1:
        if step == "review_agreement" and task["assignee"] != first_partner:
            return _STRAIGHT[step]
        if step == "report_review" and (task["subject_org"] != first_partner or task["occurrence"] != 1):
            return _STRAIGHT[step]
        return _LOOPS[step]
    return _STRAIGHT[step]


def next_move(tasks: list[Mapping[str, Any]], first_partner: str, loops: bool = True
              ) -> tuple[Mapping[str, Any], dict[str, Any], str | None] | None:
    """The next open task to complete, its data and outcome; None when nothing is open."""
    open_tasks = [t for t in tasks if t["status"] == "open"]
    if not open_tasks:
        return None
    task = min(open_tasks, key=lambda t: int(t["id"].lstrip("t")))
    return task, dict(SAMPLE_DATA[task["step"]]), choose_outcome(task, first_partner, loops)


AUDIT_ORG = "audit-office"  # the demo auditors' organisation
DATED = ("submitted_on", "started_on")  # dates of the sample data that must not be later than the day itself


def walk_move(state: ProjectState, first_partner: str, *, lead: str, on: date, loops: bool = True
              ) -> CompleteTask | None:
    """The walk's next completion in a project folded in memory: by a user of the organisation that owes the
    task (``u-<org>``), its sample dates set to ``on``; None when nothing is open."""
    opened = [{k: getattr(t, k) for k in ("id", "step", "assignee", "subject_org", "round", "occurrence", "status")}
              for t in state.tasks.values() if t.status == "open"]
    move = next_move(opened, first_partner, loops)
    if move is None:
        return None
    task, data, outcome = move
    org = AUDIT_ORG if task["assignee"] == "auditor" else task["assignee"]
    role = "auditor" if task["assignee"] == "auditor" else "coordinator" if org == lead else "partner"
    return CompleteTask(task_id=task["id"], actor=Actor(user=f"u-{org}", org=org, role=role), outcome=outcome,
                        data={k: on.isoformat() if k in DATED else v for k, v in data.items()})
