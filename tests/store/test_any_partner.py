"""A step assigned to any_partner: in every partner's inbox, done by the first that takes it."""

from __future__ import annotations

import uuid

import pytest
import yaml
from sqlalchemy.engine import Engine

from domain import Actor, NotAssigned, summary_view, task_view
from services.app import Coopflow
from store import record_batch
from templates import load_template_text
from tests.utils.domain import PARTNERS, Project, partner

TEMPLATE = yaml.safe_dump({"id": "hosting", "version": 1, "phases": [{"key": "venue", "steps": [
    {"key": "host_meeting", "assignee": "any_partner", "kind": "submission",
     "form": [{"name": "city", "type": "text", "required": True}]}]}]})


def test_any_partner_task_is_in_each_partners_inbox_and_done_once(engine: Engine):
    p = Project(template=load_template_text(TEMPLATE), partners=PARTNERS[:2])
    p.state = p.state.model_copy(update={"id": f"any-{uuid.uuid4().hex[:8]}"})
    record_batch(engine, project=summary_view(p.state), events=p.events,
                 tasks=[task_view(p.state, t) for t in p.state.tasks.values()])
    app = Coopflow(engine=engine, client=None, task_queue="unused")  # type: ignore[arg-type]
    inbox = {org: [t["id"] for t in app.list_tasks(partner(org)) if t["project_id"] == p.state.id]
             for org in PARTNERS}
    assert inbox == {PARTNERS[0]: ["t1"], PARTNERS[1]: ["t1"], PARTNERS[2]: []}
    (task,) = p.open()
    with pytest.raises(NotAssigned):
        p.complete(task, {"city": "Skopje"}, actor=partner(PARTNERS[2]))
    with pytest.raises(NotAssigned):
        p.complete(task, {"city": "Skopje"}, actor=Actor(user="u-a", org="audit-office", role="auditor"))
    p.complete(task, {"city": "Belgrade"}, actor=partner(PARTNERS[1]))
    assert p.state.status == "completed" and p.state.tasks["t1"].actor.org == PARTNERS[1]
