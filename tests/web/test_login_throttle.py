"""Log-in throttling behind a reverse proxy: each client counted by its own address (the proxy trusted),
and a person who logged in from this browser before gets in while someone guessing their password from
elsewhere keeps waiting."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from services.devstack import free_port
from services.seed import DEMO_PASSWORD, demo_email
from tests.utils.processes import Processes
from tests.web.conftest import Live


@pytest.fixture(autouse=True)
def no_throttles_left(sqlite_engine: Engine) -> Iterator[None]:
    """These tests fail log-ins on purpose, some from this host's own address: they start with no throttle
    left by the tests before them on this store (which fail log-ins too), and leave none to the tests after."""
    with sqlite_engine.begin() as conn:
        conn.execute(text("DELETE FROM login_throttle"))
    yield
    with sqlite_engine.begin() as conn:
        conn.execute(text("DELETE FROM login_throttle"))


def _log_in(http: httpx.Client, base: str, email: str, password: str, client: str) -> httpx.Response:
    """A log-in as a browser sends it, through a proxy that says the browser is at ``client``."""
    forwarded = {"X-Forwarded-For": client}
    page = http.get(f"{base}/login", headers=forwarded)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    return http.post(f"{base}/login", headers=forwarded, data={
        "email": email, "password": password, "csrf": csrf, "next": "/inbox"})


@pytest.fixture(scope="module")
def web_behind(temporal_env: WorkflowEnvironment, sqlite_engine: Engine) -> Iterator[dict[str, str]]:
    """`coopflow web` twice, as the container runs it: behind a proxy it trusts (FORWARDED_ALLOW_IPS names
    this host, where the test's requests come from), and behind one it does not (another address)."""
    processes = Processes(temporal_env.client.service_client.config.target_host, sqlite_engine, f"tq-{uuid.uuid4()}")
    try:
        found = {}
        for name, trusted in (("trusted", "127.0.0.1"), ("untrusted", "192.0.2.1")):
            port = free_port()
            processes.env["FORWARDED_ALLOW_IPS"] = trusted
            processes.start("web", "--port", str(port))
            found[name] = f"http://127.0.0.1:{port}"
        yield found
    finally:
        processes.stop()


def test_clients_behind_a_trusted_proxy_are_throttled_each_by_its_own_address(web_behind: dict[str, str]):
    """One client's failures make that client wait, not another one coming through the same proxy; without
    the proxy trusted, both have its address and wait together."""
    for name, email in (("trusted", demo_email("caritas-rs")), ("untrusted", demo_email("horizon-civitas-mk"))):
        base = web_behind[name]
        with httpx.Client(timeout=60) as one, httpx.Client(timeout=60) as other:
            for _ in range(4):  # three free, the fourth makes the next one from there wait
                assert _log_in(one, base, email, "guess", "203.0.113.7").status_code == 401
            assert _log_in(one, base, email, DEMO_PASSWORD, "203.0.113.7").status_code == 429
            answer = _log_in(other, base, email, DEMO_PASSWORD, "198.51.100.1").status_code
            print(f"behind a proxy {name}: another client gets {answer}")
            assert answer == (303 if name == "trusted" else 429)


async def test_the_owner_gets_in_from_a_browser_known_to_the_account_while_the_guesser_waits(live: Live):
    """Someone guessing from many addresses (the live server trusts this host's X-Forwarded-For) keeps the
    account's own wait up; the owner, from the browser they logged in with before and with the right
    password, gets in; a new browser and the guesser still wait."""
    email, owner_at = demo_email("different-and-equal-al"), "198.51.100.20"
    async with httpx.AsyncClient(base_url=live.url) as owner, httpx.AsyncClient(base_url=live.url) as guesser:
        async def log_in(http: httpx.AsyncClient, password: str, client: str) -> httpx.Response:
            page = await http.get("/login", headers={"X-Forwarded-For": client})
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            return await http.post("/login", headers={"X-Forwarded-For": client}, data={
                "email": email, "password": password, "csrf": csrf, "next": "/inbox"})

        assert (await log_in(owner, DEMO_PASSWORD, owner_at)).status_code == 303  # the owner, some day before
        owner.cookies.delete("coopflow_session")
        # 30 and more guesses from 16 addresses, waiting as told, until the account waits 8 seconds
        tried, wait = 0, 0
        while (wait < 8 or tried < 30) and tried < 80:
            answer = await log_in(guesser, "guess", f"203.0.113.{tried % 16 + 1}")
            tried += 1
            assert answer.status_code in (401, 429)
            if answer.status_code == 429:
                wait = max(wait, int(answer.headers["retry-after"]))
                if wait < 8:
                    await asyncio.sleep(wait)
        print(f"{tried} guesses; the account waits {wait} s")
        assert tried >= 30 and wait >= 8
        async with httpx.AsyncClient(base_url=live.url) as new_browser:
            assert (await log_in(new_browser, DEMO_PASSWORD, "198.51.100.21")).status_code == 429
        answer = await log_in(owner, DEMO_PASSWORD, owner_at)
        print(f"the owner from the known browser: {answer.status_code}")
        assert answer.status_code == 303 and (await owner.get("/inbox")).status_code == 200
        assert (await log_in(guesser, "guess", "203.0.113.99")).status_code == 429  # the guesser still waits
