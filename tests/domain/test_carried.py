"""A continued run carries its open tasks, a tally and the template's reference: it decides exactly as a run
that holds every task (``domain/tally.py``), whatever happens, and what it carries stays small."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import ChangeProject, CompleteTask, DomainError, RequestExtension, TaskClosed, Tick, format_time, parse_time
from domain.tally import Tally, template_digest
from templates import TemplateRegistry
from tests.domain.test_properties import named_data
from tests.utils.domain import COORDINATOR, PARTNERS, Project, actor_for, partner
from tests.utils.scenario import SAMPLE_DATA

FIXTURES = Path(__file__).parent.parent / "fixtures"


def carry(p: Project) -> None:
    """Hand ``p`` over to a continued run: what it carries, with the template the worker finds by reference."""
    template = p.state.template
    assert template is not None
    carried = p.state.carried()
    assert carried.template is None and carried.template_ref is not None
    assert carried.template_ref.digest == template_digest(p.events[0].data["template"])
    assert {k for k, t in p.state.tasks.items() if t.status == "open"} <= carried.tasks.keys() <= p.state.tasks.keys()
    p.state = carried.model_copy(update={"template": template})


def a_command(p: Project, data: st.DataObject, form: Callable[[str], dict[str, Any]]) -> tuple[Any, timedelta | None]:
    """A random command (as ``play_randomly`` makes them) and, for a tick, how far the clock moves."""
    open_tasks = p.open()
    roll = data.draw(st.integers(0, 9), label="tick, change or complete?")
    if not open_tasks or roll == 0:
        return Tick(), timedelta(days=data.draw(st.integers(1, 40), label="days"))
    task = data.draw(st.sampled_from(open_tasks), label="task")
    if roll == 1:
        kind = data.draw(st.sampled_from(["extend_deadline", "waive", "reassign", "add_partner", "withdraw_partner",
                                          "cancel", "request"]), label="change")
        due = format_time(parse_time(task["due_at"]) + timedelta(days=5))
        if kind == "request":
            return RequestExtension(task_id=task["id"], actor=actor_for(task), due_at=due, reason="illness"), None
        org = data.draw(st.sampled_from([*PARTNERS, "ngo-new"]), label="org")
        return ChangeProject(kind=kind, actor=COORDINATOR, reason="agreed", task_id=task["id"], due_at=due,
                             org=org), None
    if roll == 2:  # a task closed long ago, asked for again
        closed = [t for t in p.tasks() if t["status"] != "open"]
        if closed:
            old = data.draw(st.sampled_from(closed), label="closed task")
            return CompleteTask(task_id=old["id"], actor=actor_for(old), data=form(old["step"])), None
    outcome = data.draw(st.sampled_from(task["outcomes"]), label="outcome") if task["outcomes"] else None
    return CompleteTask(task_id=task["id"], actor=actor_for(task), data=form(task["step"]), outcome=outcome), None


def run(p: Project, command: Any, ticks: timedelta | None) -> list[Any] | type[DomainError]:
    try:
        return p.tick(p.now + ticks) if ticks is not None else p.run(command)
    except DomainError as error:
        return type(error)


def play_both(full: Project, continued: Project, data: st.DataObject, most: int,
              form: Callable[[str], dict[str, Any]]) -> None:
    """The same random commands to a project that holds every task and to one continued now and then."""
    for _ in range(data.draw(st.integers(5, most), label="moves")):
        if full.state.status != "active":
            break
        if data.draw(st.integers(0, 3), label="continue as new?") == 0:
            carry(continued)
        assert continued.open() == full.open()
        command, ticks = a_command(full, data, form)
        said = run(full, command, ticks)
        heard = run(continued, command, ticks)
        if said is TaskClosed or said is DomainError:
            assert heard in (TaskClosed, said), "a task closed in an earlier run is closed"
        else:
            assert heard == said, f"the continued run decides {command!r} as the full one"
        assert continued.state.tally == Tally.of_tasks(full.state.tasks.values())
        assert (continued.state.seq, continued.state.head) == (full.state.seq, full.state.head)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(template=st.sampled_from(["cooperation", "expert-day", "return-referral"]), partners=st.integers(1, 3),
       reports=st.integers(1, 3), data=st.data())
def test_a_continued_run_decides_as_one_that_holds_every_task(template: str, partners: int, reports: int,
                                                              data: st.DataObject):
    chosen = TemplateRegistry().latest(template)
    parameters = {"report_count": reports, "report_every": "P1M"} if template == "cooperation" else {}
    full, continued = (Project(partners=PARTNERS[:partners], template=chosen, parameters=parameters)
                       for _ in range(2))

    def form(step: str) -> dict[str, Any]:
        return named_data(full, step, data) if template != "cooperation" else dict(SAMPLE_DATA.get(step, {}))

    play_both(full, continued, data, 120, form)


def test_what_a_long_project_carries_stays_small():
    """Fifty partners reporting in sixty cycles (tests/fixtures/long-running.v1.yaml): more than 3,000 tasks.
    The whole state, with every task and the template, passes 1.5 MB and keeps growing (Temporal refuses a
    payload over 2 MB); what a continued run carries stays the same few kilobytes."""
    orgs = [f"ngo-{i}" for i in range(50)]
    p = Project(partners=orgs, template=TemplateRegistry(FIXTURES).latest("long-running"))
    carried, first = [], 1
    for cycle in range(60):
        p.run(CompleteTask(task_id=f"t{first}", actor=COORDINATOR, data={"note": "new cycle"}))
        p.run(CompleteTask(task_id=f"t{first + 1 + cycle % 50}", actor=partner(orgs[cycle % 50]),
                           data={"summary": "On track"}))
        carried.append(len(p.state.carried().model_dump_json()))
        p.run(CompleteTask(task_id=f"t{first + 51}", actor=COORDINATOR, outcome="next_cycle"))
        first += 52
    assert len(p.state.tasks) > 3_000 and len(p.state.model_dump_json()) > 1_500_000
    assert max(carried) < 40_000 and max(carried) - min(carried) < 1_000, carried


def test_a_run_continued_by_an_earlier_version_counts_its_tally_from_its_tasks():
    p = Project()
    p.play(until_step="kickoff")
    old = p.state.compacted().model_copy(update={"tally": None})  # what v1.2 handed over
    assert old.copy_for_change().tally == p.state.tally


@pytest.mark.parametrize("template", ["cooperation", "expert-day", "return-referral"])
def test_the_reference_names_the_digest_the_store_pins(template: str):
    p = Project(template=TemplateRegistry().latest(template))
    from store.pinned import template_digest as pinned_digest

    assert p.state.reference().digest == pinned_digest(p.events[0].data["template"])
