"""The mail sender against a real SMTP server (aiosmtpd): a mail that can never be sent is that mail's
failure alone, and two senders never send one mail twice, however slow the server."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.engine import Engine

from activities.mail import compose
from activities.sender import MailSender, Smtp
from domain import summary_view
from services.devstack import free_port
from store import make_engine, upgrade
from store.models import OutboxMail
from store.outbox import Person, list_mail
from tests.conftest import PG_ADMIN_URL
from tests.utils.domain import LEAD, Project


class SlowServer:
    """An SMTP server that takes ``delay`` seconds to accept each mail; it notes each Message-ID received."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay, self.received, self.port = delay, list[str](), free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        text = envelope.content.decode("utf-8", "replace")
        self.received.append(next(line.split(":", 1)[1].strip() for line in text.splitlines()
                                  if line.lower().startswith("message-id:")))
        return "250 Message accepted for delivery"


@pytest.fixture
def server() -> Iterator[SlowServer]:
    found = SlowServer()
    found.controller.start()
    yield found
    found.controller.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A store of the test's own: no other test's mail waits in its outbox."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'coopflow.db'}")
        upgrade(engine)
        yield engine
        return
    name = f"coopflow_mail_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    upgrade(engine)
    yield engine
    engine.dispose()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def put_mail(engine: Engine, n: int, subject: str = "New task: Concept note (Pilot)") -> str:
    """A pending mail written straight into the outbox, as an older version of coopflow may have left it."""
    message_id = f"<p.{n}.u-{uuid.uuid4().hex[:6]}@coopflow>"
    with engine.begin() as conn:
        conn.execute(OutboxMail.__table__.insert(), {  # type: ignore[attr-defined]
            "message_id": message_id, "project_id": "p", "seq": n, "recipient": "u-x", "to_address": "x@example.org",
            "lang": "en", "kind": "task_opened", "subject": subject, "body": "Hello", "status": "pending",
            "created_at": f"2027-01-01T00:00:{n:02d}.000000Z", "next_attempt_at": float(n)})
    return message_id


@pytest.mark.parametrize("subject", ["Pilot\nBcc: someone@example.org", "Pilot\rtwo", "Pilot\u2028two", "Pilot\x85two"])
def test_a_poison_mail_fails_alone_and_is_not_tried_for_ever(store: Engine, server: SlowServer, subject: str):
    first, poison, last = put_mail(store, 1), put_mail(store, 2, subject), put_mail(store, 3)
    sender = MailSender(store, Smtp("127.0.0.1", server.port))
    assert sender.send_due() == 2
    assert sorted(server.received) == sorted([first, last])  # the rest of its batch went on
    mails = {m["message_id"]: m for m in list_mail(store)}
    assert mails[poison]["status"] == "failed" and mails[poison]["attempts"] == 1
    assert mails[poison]["last_error"].startswith("ValueError: Header values may not contain")
    assert sender.send_due() == 0 and len(server.received) == 2  # never claimed again


def test_two_senders_and_a_slow_server_never_send_a_mail_twice(store: Engine, server: SlowServer):
    server.delay = 0.2  # a round of twelve mails takes about 2.5 s, twice the lease
    sent = {put_mail(store, n) for n in range(1, 13)}

    def send(sender: MailSender) -> None:
        deadline = time.monotonic() + 60
        while any(m["status"] == "pending" for m in list_mail(store)) and time.monotonic() < deadline:
            sender.send_due()
            time.sleep(0.05)

    workers = [threading.Thread(target=send, args=(MailSender(store, Smtp("127.0.0.1", server.port), lease=1.0),))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    twice = sorted(m for m, n in Counter(server.received).items() if n > 1)
    assert not twice, f"{len(server.received)} sends of {len(sent)} mails; sent more than once: {twice}"
    assert set(server.received) == sent and {m["status"] for m in list_mail(store)} == {"sent"}


def test_a_project_title_from_before_the_one_line_rule_gives_mails_that_can_be_sent(store: Engine,
                                                                                     server: SlowServer):
    p = Project()
    old = {**summary_view(p.state), "title": "Return\ncounselling\u2028pilot"}  # as an old project may have it
    rows = compose(p.events, project=old, template=p.state.template, names={}, public_url="https://x.example",
                   people={LEAD: [Person("u-1", "x@example.org", "en", "coordinator", LEAD)]}, assignees={})
    assert rows and all("Return counselling pilot" in row["subject"] for row in rows)
    with store.begin() as conn:
        conn.execute(OutboxMail.__table__.insert(), rows)  # type: ignore[attr-defined]
    assert MailSender(store, Smtp("127.0.0.1", server.port)).send_due() == len(rows)
