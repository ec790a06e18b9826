"""Day-two commands on a store of the test's own, through the command line's entry point: disabling,
enabling and removing a user; expired sessions pruned; pruning sent mail; the outbox newest first."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from cli import run_cli
from domain import format_time
from services.app import Coopflow
from services.identity import Unauthorized
from services.seed import DEMO_PASSWORD, demo_email, seed_demo
from store import accounts, make_engine, upgrade, web_state
from store.models import OutboxMail
from store.outbox import people_of

CARITAS = demo_email("caritas-rs")


class Store:
    def __init__(self, tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.engine: Engine = make_engine(f"sqlite:///{tmp / 'coopflow.db'}")
        upgrade(self.engine)
        self.tokens = {u["email"]: u["token"] for u in seed_demo(self.engine) or []}
        self.app = Coopflow(engine=self.engine, client=None, task_queue="unused")  # type: ignore[arg-type]
        self.capsys = capsys

    def cli(self, *args: str, code: int = 0) -> str:
        """Run `coopflow ARGS`; its output (stdout, or stderr when it failed)."""
        got = run_cli(list(args))
        out, err = self.capsys.readouterr()
        assert got == code, (got, out, err)
        return out if code == 0 else err

    def json(self, *args: str) -> object:
        return json.loads(self.cli(*args, "--json"))


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Store:
    monkeypatch.setenv("COOPFLOW_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("COOPFLOW_DATABASE_URL", raising=False)
    return Store(tmp_path, capsys)


def test_a_disabled_user_cannot_log_in_its_token_and_sessions_stop_and_enable_brings_it_back(store: Store):
    app, token = store.app, store.tokens[CARITAS]
    session, _ = app.log_in(CARITAS, DEMO_PASSWORD, "198.51.100.1")
    assert app.session(session) is not None and app.actor_for_token(token) is not None

    said = store.cli("user", "disable", CARITAS)
    assert said.startswith(f"Disabled {CARITAS}") and "1 session(s) ended" in said
    assert app.session(session) is None and app.actor_for_token(token) is None
    with pytest.raises(Unauthorized):
        app.log_in(CARITAS, DEMO_PASSWORD, "198.51.100.1")
    assert f"{CARITAS} is disabled" in store.cli("tasks", "--as", CARITAS, code=1)
    with store.engine.connect() as conn:  # and no mail goes to it
        assert CARITAS not in [p.email for p in people_of(conn, {"caritas-rs"})["caritas-rs"]]

    assert store.json("user", "enable", CARITAS) == {"email": CARITAS, "status": "active"}
    assert app.actor_for_token(token) is not None  # its token and password again, as they were
    assert app.log_in(CARITAS, DEMO_PASSWORD, "198.51.100.1")


def test_a_removed_user_keeps_its_place_in_the_trail_and_loses_its_credentials(store: Store):
    app, token = store.app, store.tokens[CARITAS]
    user_id = accounts.user_by_email(store.engine, CARITAS).id
    app.log_in(CARITAS, DEMO_PASSWORD, "198.51.100.1")
    assert store.json("user", "remove", CARITAS) == {"email": CARITAS, "status": "removed", "sessions_ended": 1,
                                                     "tasks_freed": 0}
    assert app.actor_for_token(token) is None
    with pytest.raises(Unauthorized):
        app.log_in(CARITAS, DEMO_PASSWORD, "198.51.100.1")
    assert app.user_emails()[user_id] == CARITAS  # events name the user id: exports still say who it was
    again = store.cli("user", "add", CARITAS, "--org", "caritas-rs", "--role", "partner", code=1)
    assert "was removed" in again and f"coopflow user enable {CARITAS}" in again

    said = store.cli("user", "enable", CARITAS)  # back, without a way in until it is given one
    assert "no password and no API token" in said
    assert app.actor_for_token(token) is None
    with pytest.raises(Unauthorized):
        app.log_in(CARITAS, DEMO_PASSWORD, "198.51.100.1")
    new = str(store.json("user", "token", CARITAS, "--rotate")["token"])  # type: ignore[index]
    assert app.actor_for_token(new) is not None


def test_user_commands_name_an_unknown_e_mail(store: Store):
    for command in ("disable", "enable", "remove"):
        assert "There is no user with e-mail nobody@example.org" in store.cli("user", command, "nobody@example.org",
                                                                                 code=1)


def test_expired_sessions_are_pruned_when_someone_logs_in(store: Store):
    user_id, now = accounts.user_by_email(store.engine, CARITAS).id, time.time()
    idle, old, live = now - web_state.SESSION_IDLE - 60, now - web_state.SESSION_MAX - 60, now - 60
    for at in (idle, old, live):
        web_state.create_session(store.engine, user_id=user_id, now=at)
    with store.engine.begin() as conn:  # the old one was used until a minute ago: only its age ends it
        conn.exec_driver_sql("UPDATE web_session SET seen_at = ? WHERE created_at = ?", (live, old))
    store.app.log_in(demo_email("horizon-civitas-mk"), DEMO_PASSWORD, "198.51.100.2")  # anyone's log-in
    with store.engine.connect() as conn:
        kept = [row[0] for row in conn.exec_driver_sql("SELECT created_at FROM web_session WHERE user_id = ?",
                                                       (user_id,))]
    assert kept == [live], "the expired sessions were not removed"


def put_mail(engine: Engine, *, age_days: float, status: str = "sent") -> str:
    at = format_time(datetime.now(UTC) - timedelta(days=age_days))
    message_id = f"<p.{uuid.uuid4().hex[:8]}@coopflow>"
    with engine.begin() as conn:
        conn.execute(OutboxMail.__table__.insert(), {  # type: ignore[attr-defined]
            "message_id": message_id, "project_id": "p", "seq": 1, "recipient": "u-x", "to_address": "x@example.org",
            "lang": "en", "kind": "task_opened", "subject": f"{age_days} days old", "body": "Hello",
            "status": status, "created_at": at, "sent_at": at if status == "sent" else None})
    return message_id


def test_mail_prune_removes_only_sent_mail_older_than_asked(store: Store):
    put_mail(store.engine, age_days=200)  # sent 200 days ago: the one to go
    new_sent = put_mail(store.engine, age_days=10)
    old_failed = put_mail(store.engine, age_days=200, status="failed")
    old_pending = put_mail(store.engine, age_days=200, status="pending")
    assert "Would remove 1 sent mail" in store.cli("mail", "prune", "--older-than-days", "90", "--dry-run")
    assert len(store.json("mail", "list")) == 4  # type: ignore[arg-type]
    assert store.json("mail", "prune", "--older-than-days", "90") == {"removed": 1, "older_than_days": 90}
    assert {m["message_id"] for m in store.json("mail", "list")} == {new_sent, old_failed, old_pending}  # type: ignore[attr-defined]
    assert "--older-than-days" in store.cli("mail", "prune", "--older-than-days", "0", code=2)


def test_mail_list_shows_the_newest_first_up_to_the_limit(store: Store):
    oldest, middle, newest = (put_mail(store.engine, age_days=d) for d in (3, 2, 1))
    assert [m["message_id"] for m in store.json("mail", "list")] == [newest, middle, oldest]  # type: ignore[attr-defined]
    assert [m["message_id"] for m in store.json("mail", "list", "--limit", "2")] == [newest, middle]  # type: ignore[attr-defined]
    text = store.cli("mail", "list", "--limit", "2")
    assert text.index("1 days old") < text.index("2 days old") and "3 days old" not in text
    assert "the newest 2" in text
