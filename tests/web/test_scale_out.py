"""The web tier scaled out: two `coopflow web` and two `coopflow worker` processes on one Temporal
server and PostgreSQL. Requests alternate between the web processes, as behind a load balancer:
sessions, CSRF, log-in throttles and idempotency keys hold across them."""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Iterator
from itertools import cycle

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from services.devstack import free_port
from services.seed import DEMO_PASSWORD, demo_email
from store import accounts
from tests.utils.processes import Processes
from tests.utils.scenario import SAMPLE_DATA, next_move

LEAD, PARTNERS = "stadt-dortmund", ["caritas-rs", "horizon-civitas-mk"]


@pytest.fixture(scope="module")
def webs(temporal_env: WorkflowEnvironment, postgresql_engine: Engine) -> Iterator[list[str]]:
    processes = Processes(temporal_env.client.service_client.config.target_host, postgresql_engine,
                          f"tq-{uuid.uuid4()}", secret_key="one-key-for-every-web-process")
    try:
        processes.start("worker")
        processes.start("worker")
        ports = [free_port(), free_port()]
        for port in ports:
            processes.start("web", "--port", str(port))
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        processes.stop()


def log_in(http: httpx.Client, base: str, email: str, password: str = DEMO_PASSWORD) -> httpx.Response:
    page = http.get(f"{base}/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    return http.post(f"{base}/login", data={"email": email, "password": password, "csrf": csrf, "next": "/inbox"})


def csrf_of(html: str) -> str:
    return re.findall(r'name="csrf" value="([^"]+)"', html)[-1]


def test_a_session_from_one_web_process_works_and_ends_on_the_other(webs: list[str]):
    a, b = webs
    with httpx.Client(timeout=60) as http:
        assert log_in(http, a, demo_email(LEAD)).status_code == 303
        inbox = http.get(f"{b}/inbox")
        assert inbox.status_code == 200
        # a form rendered by one process, sent to the other: the CSRF token is the session's, in the store
        page = http.get(f"{a}/projects/new")
        made = http.post(f"{b}/projects/new", data={"csrf": csrf_of(page.text), "title": "Across processes",
                                                     "partners": PARTNERS, "report_count": "1"})
        assert made.status_code == 303 and made.headers["location"].startswith("/projects/")
        http.post(f"{b}/logout", data={"csrf": csrf_of(http.get(f"{b}/inbox").text)})
        assert http.get(f"{a}/inbox").status_code == 303  # logged out on b: gone on a too


def test_log_in_throttles_count_attempts_wherever_they_arrive(webs: list[str], postgresql_engine: Engine):
    email = demo_email("different-and-equal-al")
    account = hashlib.sha256(email.encode()).hexdigest()[:32]
    with httpx.Client(timeout=60) as http:
        for base, _ in zip(cycle(webs), range(4), strict=False):
            assert log_in(http, base, email, "wrong").status_code == 401
        # both processes counted into one throttle: four failures, and a wait after the three free ones
        with postgresql_engine.connect() as conn:
            (row,) = conn.execute(text("SELECT failures, last_failure, wait_until FROM login_throttle "
                                       "WHERE key LIKE :k"), {"k": f"pair:{account}|%"}).all()
        assert row.failures == 4 and row.wait_until > row.last_failure
        answer = log_in(http, webs[1], email)
        # refused while the wait lasts (a machine slow enough to outlast its one second may let it in after)
        assert answer.status_code == 429 or time.time() >= row.wait_until, answer.status_code


def test_a_project_driven_through_both_web_processes_alternately(webs: list[str], postgresql_engine: Engine):
    orgs = [LEAD, *PARTNERS, "audit-office"]
    tokens = {org: accounts.rotate_token(postgresql_engine, demo_email(org)) for org in orgs}
    tokens["auditor"] = tokens["audit-office"]
    bases = cycle(webs)
    with httpx.Client(timeout=60) as http:
        def call(method: str, path: str, org: str, **kwargs: object) -> httpx.Response:
            return http.request(method, next(bases) + path, headers={
                "Authorization": f"Bearer {tokens[org]}", **kwargs.pop("headers", {})}, **kwargs)  # type: ignore[arg-type]

        project = call("POST", "/api/projects", LEAD, headers={"Idempotency-Key": "scale-1"},
                       json={"title": "Scaled", "partners": PARTNERS, "parameters": {"report_count": 1}})
        again = call("POST", "/api/projects", LEAD, headers={"Idempotency-Key": "scale-1"},
                     json={"title": "Scaled", "partners": PARTNERS, "parameters": {"report_count": 1}})
        assert project.status_code == again.status_code == 201 and project.json()["id"] == again.json()["id"]
        pid, moves = project.json()["id"], 0
        while (move := next_move(call("GET", f"/api/projects/{pid}", LEAD).json()["tasks"], PARTNERS[0])) is not None:
            task, data, outcome = move
            body = {"data": data, **({"outcome": outcome} if outcome else {})}
            path = f"/api/projects/{pid}/tasks/{task['id']}/complete"
            key = {"Idempotency-Key": f"move-{moves}"}
            first = call("POST", path, task["assignee"], headers=key, json=body)
            assert first.status_code == 200, first.text
            # the same request again, through the other process: the first answer
            assert call("POST", path, task["assignee"], headers=key, json=body).json() == first.json()
            if moves == 0:  # the same key with another body, on either process: refused
                changed = {"data": {**SAMPLE_DATA["concept_note"], "summary": "changed"}}
                assert call("POST", path, task["assignee"], headers=key, json=changed).status_code == 409
            moves += 1
        shown = call("GET", f"/api/projects/{pid}", LEAD).json()
        assert shown["status"] == "completed" and moves > 20
        assert call("GET", f"/api/projects/{pid}/verify", "auditor").json()["ok"]
