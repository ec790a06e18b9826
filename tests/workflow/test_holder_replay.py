"""Replay: a project whose tasks were taken, handed on, completed by a substitute on behalf of the absent
holder, and freed by the system when a holder left. Recorded as ``holders-v<n>`` (see test_replay.py):

    COOPFLOW_RECORD_HISTORY=holders-v1 .venv/bin/pytest tests/workflow/test_holder_replay.py -k sqlite
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from services.app import Coopflow
from tests.utils.app import LEAD, PARTNERS, actor, start
from tests.utils.histories import record, replayed, run_histories
from tests.utils.people import Colleague
from tests.utils.scenario import SAMPLE_DATA


async def test_fresh_holder_histories_replay(app: Coopflow, request: pytest.FixtureRequest,
                                             colleagues_of: Callable[..., list[Colleague]]):
    ana, marko = colleagues_of(app.engine, PARTNERS[0], ["Ana Petrović", "Marko Jovanović"])
    lead, as_ana, as_marko = actor(app, LEAD), app.actor_for_email(ana.email), app.actor_for_email(marko.email)
    pid = (await start(app))["id"]
    await app.complete_task(lead, pid, "t1", data=SAMPLE_DATA["concept_note"])
    first, second = sorted(t["id"] for t in app.list_tasks(as_ana) if t["project_id"] == pid)[:1] + [
        t["id"] for t in app.list_tasks(actor(app, PARTNERS[1])) if t["project_id"] == pid]
    await app.hold_task(as_ana, pid, first, ana.email)
    await app.hold_task(lead, pid, second, None)  # nobody holds it: nothing to record
    today = datetime.now(UTC).date()
    app.set_substitute(as_ana, user=marko.email, starts=today.isoformat(), ends=(today + timedelta(days=1)).isoformat())
    done = await app.complete_task(as_marko, pid, first, data=SAMPLE_DATA["letter_of_intent"])
    assert done["status"] == "completed"
    completion = [e for e in app.list_events(lead, pid) if e["task_id"] == first][-1]
    assert completion["actor"]["user"] == marko.user_id and completion["data"]["on_behalf_of_user"] == ana.user_id
    horizon = colleagues_of(app.engine, PARTNERS[1], ["Elena Stojanovska"])[0]
    await app.hold_task(lead, pid, second, horizon.email)
    app.remove_person(horizon.email)
    assert await app.free_tasks_of(horizon.user_id) == 1
    assert app.verify(lead, pid)["ok"]

    histories = await replayed(await run_histories(app.client, pid))
    if request.node.callspec.params["engine"] == "sqlite":
        record(histories, "holders")
