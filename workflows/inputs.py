"""What starts a project's workflow and what it is searched by: its input, its id, its search attributes."""

from __future__ import annotations

import re

from pydantic import BaseModel
from temporalio.common import SearchAttributeKey

from domain import ProjectState, StartProject

PHASE = SearchAttributeKey.for_keyword("CoopflowPhase")
STATUS = SearchAttributeKey.for_keyword("CoopflowStatus")
LEAD = SearchAttributeKey.for_keyword("CoopflowLead")
SEARCH_ATTRIBUTES = (PHASE, STATUS, LEAD)
KEYED_UPDATE = re.compile(r"[a-z]+-[0-9a-f]{40}")  # services/updates.py: an update id made from an Idempotency-Key
ANSWERED_KEPT = 500  # keyed changes remembered across continue-as-new (a key is repeated within minutes)


class ProjectInput(BaseModel):
    """Either the command that starts a project, or the state carried over by continue-as-new."""

    start: StartProject | None = None
    state: ProjectState | None = None
    history_limit: int | None = None  # continue-as-new after this many history events (tests)
    write_timeout: float = 10.0  # seconds one attempt of a store write may take before it is tried again
    answered: list[str] = []  # the ids of the last keyed changes answered, carried over continue-as-new


def workflow_id(project_id: str) -> str:
    return f"project-{project_id}"
