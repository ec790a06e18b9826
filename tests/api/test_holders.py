"""A person holds a task (CONTRACT §12): taking it, handing it on, a coordinator's assignment, who may not,
the inbox's filter, and each hand-over in the trail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.app import Coopflow
from services.seed import demo_email
from tests.api.conftest import OTHER_LEAD, auth
from tests.api.test_api import LEAD, PARTNERS
from tests.api.test_changes import letters
from tests.utils.people import Colleague

CARITAS = PARTNERS[0]


async def caritas_letter(http: httpx.AsyncClient, tokens: dict[str, str]) -> tuple[str, str]:
    pid, open_tasks = await letters(http, tokens)
    return pid, next(t["id"] for t in open_tasks if t["assignee"] == CARITAS)


async def test_take_hand_on_assign_and_who_may_not(app: Coopflow, http: httpx.AsyncClient, tokens: dict[str, str],
                                                   colleagues_of: Callable[..., list[Colleague]]):
    ana, marko = colleagues_of(app.engine, CARITAS, ["Ana Petrović", "Marko Jovanović"])
    pid, tid = await caritas_letter(http, tokens)
    url = f"/api/projects/{pid}/tasks/{tid}/holder"

    shown = (await http.get(f"/api/projects/{pid}", headers=auth(ana.token))).json()
    assert all(t["holder"] is None for t in shown["tasks"])  # every task says who holds it: nobody yet

    taken = await http.put(url, headers=auth(ana.token), json={"user": ana.email})
    assert taken.status_code == 200, taken.text
    assert taken.json()["holder"] == {"user_id": ana.user_id, "name": "Ana Petrović"}
    handed = await http.put(url, headers=auth(ana.token), json={"user": marko.email})
    assert handed.json()["holder"] == {"user_id": marko.user_id, "name": "Marko Jovanović"}
    # the lead's coordinators assign it to anyone of the organisation that owes it
    assigned = await http.put(url, headers=auth(tokens[LEAD]), json={"user": demo_email(CARITAS)})
    assert assigned.status_code == 200 and assigned.json()["holder"]["name"] == "Demo partner"

    # a person of another organisation cannot hold it: 422 naming user; nothing changes
    for who, target in ((ana.token, demo_email(PARTNERS[1])), (tokens[LEAD], demo_email(LEAD)),
                        (ana.token, "nobody@nowhere.example")):
        refused = await http.put(url, headers=auth(who), json={"user": target})
        assert refused.status_code == 422 and "user" in refused.json()["error"]["details"], refused.text
    # another partner of the project may not say who holds it (as for completing), an outsider finds nothing
    other = await http.put(url, headers=auth(tokens[PARTNERS[1]]), json={"user": demo_email(PARTNERS[1])})
    assert (other.status_code, other.json()["error"]["code"]) == (403, "not_assigned")
    outsider = await http.put(url, headers=auth(tokens[OTHER_LEAD]), json={"user": None})
    assert outsider.status_code == 404
    auditor = await http.put(url, headers=auth(tokens["audit-office"]), json={"user": None})
    assert auditor.status_code == 403
    holder = (await http.get(f"/api/projects/{pid}/tasks", headers=auth(ana.token))).json()
    assert next(t for t in holder if t["id"] == tid)["holder"]["user_id"] != ana.user_id

    released = await http.put(url, headers=auth(ana.token), json={"user": None})
    assert released.json()["holder"] is None

    # the trail: who gave it to whom, and when; the chain still verifies
    events = (await http.get(f"/api/projects/{pid}/events", headers=auth(tokens[LEAD]),
                             params={"type": "TaskHeld"})).json()
    demo = app.actor_for_email(demo_email(CARITAS)).user
    lead = app.actor_for_email(demo_email(LEAD)).user
    assert [(e["actor"]["user"], e["data"]) for e in events] == [
        (ana.user_id, {"holder": ana.user_id, "from": None}),
        (ana.user_id, {"holder": marko.user_id, "from": ana.user_id}),
        (lead, {"holder": demo, "from": marko.user_id}),
        (ana.user_id, {"holder": None, "from": demo}),
    ]
    assert all(e["task_id"] == tid and e["at"] for e in events)
    assert "Ana" not in str(events)  # no names in the trail: opaque ids only
    verified = (await http.get(f"/api/projects/{pid}/verify", headers=auth(tokens[LEAD]))).json()
    assert verified["ok"] is True and not verified["problems"]

    # a closed task can no longer be held
    done = await http.post(f"/api/projects/{pid}/tasks/{tid}/complete", headers=auth(marko.token),
                           json={"data": {"contribution": "Staff", "contact_person": "Marko"}})
    assert done.status_code == 200 and done.json()["holder"] is None
    closed = await http.put(url, headers=auth(ana.token), json={"user": ana.email})
    assert (closed.status_code, closed.json()["error"]["code"]) == (409, "task_closed")


async def test_the_inbox_filters_mine_and_unassigned(app: Coopflow, http: httpx.AsyncClient, tokens: dict[str, str],
                                                     colleagues_of: Callable[..., list[Colleague]]):
    ana, marko = colleagues_of(app.engine, CARITAS, ["Ana Petrović", "Marko Jovanović"])
    first, tid = await caritas_letter(http, tokens)
    second, other = await caritas_letter(http, tokens)
    assert (await http.put(f"/api/projects/{first}/tasks/{tid}/holder", headers=auth(marko.token),
                           json={"user": ana.email})).status_code == 200

    def ids(answer: httpx.Response) -> set[tuple[str, str]]:
        assert answer.status_code == 200, answer.text
        return {(t["project_id"], t["id"]) for t in answer.json() if t["project_id"] in (first, second)}

    def holders(answer: httpx.Response) -> dict[tuple[str, str], Any]:
        return {(t["project_id"], t["id"]): t["holder"] for t in answer.json() if t["project_id"] in (first, second)}

    everything = await http.get("/api/tasks", headers=auth(marko.token))
    assert ids(everything) == {(first, tid), (second, other)}
    assert holders(everything)[(first, tid)] == {"user_id": ana.user_id, "name": "Ana Petrović"}
    assert ids(await http.get("/api/tasks", params={"holder": "me"}, headers=auth(ana.token))) == {(first, tid)}
    assert ids(await http.get("/api/tasks", params={"holder": "me"}, headers=auth(marko.token))) == set()
    assert ids(await http.get("/api/tasks", params={"holder": "none"}, headers=auth(ana.token))) == {(second, other)}
    bad = await http.get("/api/tasks", params={"holder": "them"}, headers=auth(ana.token))
    assert bad.status_code == 422 and "holder" in str(bad.json()["error"]["details"])


async def test_a_substitute_over_the_api_sees_and_completes_the_absent_persons_task(
        app: Coopflow, http: httpx.AsyncClient, tokens: dict[str, str], colleagues_of: Callable[..., list[Colleague]]):
    ana, marko = colleagues_of(app.engine, CARITAS, ["Ana Petrović", "Marko Jovanović"])
    pid, tid = await caritas_letter(http, tokens)
    await http.put(f"/api/projects/{pid}/tasks/{tid}/holder", headers=auth(ana.token), json={"user": ana.email})
    today = datetime.now(UTC).date()
    day = today.isoformat()
    later = (today + timedelta(days=3)).isoformat()
    url = "/api/me/substitute"
    for body, field in (({"user": "nobody@nowhere.example", "from": day, "until": later}, "user"),
                        ({"user": demo_email(PARTNERS[1]), "from": day, "until": later}, "user"),
                        ({"user": ana.email, "from": day, "until": later}, "user"),
                        ({"user": marko.email, "from": "1 May", "until": later}, "from"),
                        ({"user": marko.email, "from": day, "until": "2027-02-30"}, "until"),
                        ({"user": marko.email, "from": later, "until": day}, "until"),
                        ({"user": marko.email, "from": "2020-01-01", "until": "2020-01-31"}, "until")):
        refused = await http.put(url, headers=auth(ana.token), json=body)
        assert refused.status_code == 422 and field in refused.json()["error"]["details"], (body, refused.text)
    assert (await http.get(url, headers=auth(ana.token))).json() is None  # nothing was kept

    named = await http.put(url, headers=auth(ana.token), json={"user": marko.email, "from": day, "until": later})
    assert named.status_code == 200, named.text
    assert named.json() == {"user": marko.email, "user_id": marko.user_id, "name": "Marko Jovanović", "from": day,
                            "until": later, "active": True}
    assert (await http.get(url, headers=auth(ana.token))).json() == named.json()

    mine = (await http.get("/api/tasks", params={"holder": "me"}, headers=auth(marko.token))).json()
    task = next(t for t in mine if t["project_id"] == pid and t["id"] == tid)  # Ana's, in Marko's own tasks
    assert task["substitute_for"] == {"user_id": ana.user_id, "name": "Ana Petrović"}
    done = await http.post(f"/api/projects/{pid}/tasks/{tid}/complete", headers=auth(marko.token),
                           json={"data": {"contribution": "Staff", "contact_person": "Marko"}})
    assert done.status_code == 200, done.text
    completed = (await http.get(f"/api/projects/{pid}/events", headers=auth(tokens[LEAD]),
                                params={"type": "StepCompleted"})).json()[-1]
    assert completed["actor"]["user"] == marko.user_id and completed["data"]["on_behalf_of_user"] == ana.user_id
    assert (await http.get(f"/api/projects/{pid}/verify", headers=auth(tokens[LEAD]))).json()["ok"] is True

    ended = await http.delete(url, headers=auth(ana.token))
    assert ended.json() == {"ended": True}
    assert (await http.delete(url, headers=auth(ana.token))).json() == {"ended": False}
