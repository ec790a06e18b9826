"""A write attempt that timed out keeps running and may commit after a later batch of the same project
(the activity was retried and went on). Its read-model rows are older than what is stored: they must
not undo the later write. Two real write attempts land in reverse order, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from domain import summary_view, task_view
from services.access import may_see
from store import iter_events, record_batch
from store.read import get_project, list_projects, open_tasks
from tests.store.test_audit_store import fresh_project
from tests.utils.domain import PARTNERS, partner
from tests.utils.scenario import next_move


def snapshot(p, events, task_ids):
    """The batch an activity attempt carries: the project and the touched tasks as they were then."""
    return {"project": summary_view(p.state), "events": list(events),
            "tasks": [task_view(p.state, p.state.tasks[t]) for t in task_ids]}


def test_an_older_batch_committing_late_does_not_reopen_a_task_or_readmit_a_withdrawn_partner(engine: Engine):
    p = fresh_project()
    pid = p.state.id
    record_batch(engine, **snapshot(p, p.events, p.state.tasks))
    stale = snapshot(p, p.events, p.state.tasks)  # the attempt that timed out: every task open, three partners
    task, data, outcome = next_move(p.tasks(), PARTNERS[0])
    p.complete(dict(task), data, outcome)
    p.change("withdraw_partner", org=PARTNERS[2])
    later = snapshot(p, p.events[3:], p.state.tasks)
    record_batch(engine, **later)  # the retry, and what came after it, landed first
    record_batch(engine, **stale)  # then the old attempt commits
    project = get_project(engine, pid, with_tasks=True)
    assert project["seq"] == len(p.events)
    assert project["partners"] == PARTNERS[:2]
    done = next(t for t in project["tasks"] if t["id"] == task["id"])
    assert done["status"] == "completed"
    assert not any(t["project_id"] == pid for t in open_tasks(engine, PARTNERS[2]))
    assert not may_see(partner(PARTNERS[2]), project)
    assert pid not in [q["id"] for q in list_projects(engine, member=PARTNERS[2])]
    assert [e["hash"] for e in iter_events(engine, pid)] == [e.hash for e in p.events]


def test_a_batch_retried_at_the_same_seq_still_writes_its_rows(engine: Engine):
    p = fresh_project()
    batch = snapshot(p, p.events, p.state.tasks)
    record_batch(engine, **batch)
    record_batch(engine, **batch)
    assert len(get_project(engine, p.state.id, with_tasks=True)["tasks"]) == len(p.state.tasks)


def test_an_older_partner_change_committing_late_does_not_restore_the_old_partner_list(engine: Engine):
    p = fresh_project()
    pid = p.state.id
    record_batch(engine, **snapshot(p, p.events, p.state.tasks))
    p.change("withdraw_partner", org=PARTNERS[1])
    stale = snapshot(p, p.events[3:], p.state.tasks)  # the withdrawal, as its first attempt carried it
    p.change("add_partner", org="caritas-de")
    record_batch(engine, **snapshot(p, p.events[3:], p.state.tasks))  # its retry, and the addition after it
    record_batch(engine, **stale)
    project = get_project(engine, pid)
    assert project["partners"] == [PARTNERS[0], PARTNERS[2], "caritas-de"]
    assert pid in [q["id"] for q in list_projects(engine, member="caritas-de")]
    assert may_see(partner("caritas-de"), project)
