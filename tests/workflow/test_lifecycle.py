"""The default template end to end against the real dev server and both databases."""

from __future__ import annotations

from collections import Counter

from domain import verify_chain
from services.app import Coopflow
from tests.utils.app import LEAD, PARTNERS, actor, play, start


async def test_full_lifecycle_with_every_loop(app: Coopflow):
    project = await start(app)
    assert project["status"] == "active" and project["phase"] == "funding_application"
    # read your writes: the store shows the project as soon as start returns
    assert [t["step"] for t in app.list_tasks(actor(app, LEAD)) if t["project_id"] == project["id"]] == [
        "concept_note"]

    completed = await play(app, project["id"], loops=True)

    shown = app.show_project(actor(app, LEAD), project["id"])
    assert shown["status"] == "completed" and not [t for t in shown["tasks"] if t["status"] == "open"]
    for task in completed:
        who = task["completed_by"]
        expected = "audit-office" if task["assignee"] == "auditor" else task["assignee"]
        assert task["status"] == "completed" and who["org"] == expected
    outcomes = Counter((t["step"], t["outcome"]) for t in completed if t["outcome"])
    assert outcomes[("funding_decision", "revise")] == 1 and outcomes[("funding_decision", "approved")] == 1
    assert outcomes[("review_agreement", "request_changes")] == 1
    assert outcomes[("report_review", "request_changes")] == 1
    assert outcomes[("milestone_review", "extend")] == 1 and outcomes[("milestone_review", "complete")] == 1
    assert outcomes[("audit_signoff", "findings")] == 1 and outcomes[("audit_signoff", "approved")] == 1
    assert {t["assignee"] for t in completed if t["step"] == "letter_of_intent"} == set(PARTNERS)

    events = list(app.list_events(actor(app, "auditor"), project["id"]))
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["type"] == "ProjectEnded" and events[-1]["data"] == {"status": "completed"}
    check = app.verify(actor(app, "auditor"), project["id"])
    assert check == verify_chain(events) and check["ok"] and check["count"] == len(events)

    # the state the workflow reported is what folding the stored events gives
    final = await app.client.get_workflow_handle(f"project-{project['id']}").query("get_state")
    rebuilt = app.show_project(actor(app, LEAD), project["id"], as_of=events[-1]["at"])
    assert {k: v for k, v in rebuilt.items() if k != "as_of"} == final
