"""`coopflow me …` on a store of the test's own: mail preferences shown, changed and refused with the field
named; the calendar URL made, not shown again, renewed and revoked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from icalendar import Calendar

from cli import run_cli
from domain import NotFound
from services.app import Coopflow
from services.seed import demo_email, seed_demo
from store import make_engine, upgrade

CARITAS = demo_email("caritas-rs")


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Coopflow:
    monkeypatch.setenv("COOPFLOW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COOPFLOW_PUBLIC_URL", "https://coopflow.example")
    monkeypatch.delenv("COOPFLOW_DATABASE_URL", raising=False)
    engine = make_engine(f"sqlite:///{tmp_path / 'coopflow.db'}")
    upgrade(engine)
    seed_demo(engine)
    return Coopflow(engine=engine, client=None, task_queue="unused")  # type: ignore[arg-type]


def cli(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> str:
    got = run_cli(list(args))
    out, err = capsys.readouterr()
    assert got == code, (got, out, err)
    return out if code == 0 else err


def test_preferences_are_shown_changed_and_a_bad_one_is_named(app: Coopflow, capsys: pytest.CaptureFixture[str]):
    shown = json.loads(cli(capsys, "me", "preferences", "--as", CARITAS, "--json"))
    assert shown == {"mail": "immediate", "lang": "sr", "timezone": "UTC"}
    said = cli(capsys, "me", "preferences", "--as", CARITAS, "--mail", "daily", "--timezone", "Europe/Belgrade")
    assert said.strip() == "mail: daily (a daily digest at 07:00), language: sr, timezone: Europe/Belgrade"
    refused = cli(capsys, "me", "preferences", "--as", CARITAS, "--lang", "fr", "--timezone", "Belgrade", code=1)
    assert refused.startswith("error: ") and "  lang: " in refused and "  timezone: " in refused
    assert json.loads(cli(capsys, "me", "preferences", "--as", CARITAS, "--json"))["lang"] == "sr"  # unchanged
    assert "--as" in cli(capsys, "me", "preferences", code=2)


def test_the_calendar_url_is_made_once_renewed_and_revoked(app: Coopflow, capsys: pytest.CaptureFixture[str]):
    url = cli(capsys, "me", "calendar", "--as", CARITAS).strip()
    assert url.startswith("https://coopflow.example/calendar/") and url.endswith(".ics")
    secret = url.rsplit("/", 1)[1].removesuffix(".ics")
    feed = Calendar.from_ical(app.calendar_feed(secret, public_url="https://coopflow.example"))
    assert feed.walk("VEVENT") == [] and str(feed["version"]) == "2.0"  # no project yet: an empty calendar

    again = json.loads(cli(capsys, "me", "calendar", "--as", CARITAS, "--json"))
    assert again["url"] is None and again["active"] is True  # kept only hashed: not shown again
    assert "--renew" in cli(capsys, "me", "calendar", "--as", CARITAS)

    renewed = json.loads(cli(capsys, "me", "calendar", "--as", CARITAS, "--renew", "--json"))["url"]
    assert renewed != url
    with pytest.raises(NotFound):
        app.calendar_feed(secret, public_url="https://coopflow.example")
    assert cli(capsys, "me", "calendar", "--as", CARITAS, "--revoke").strip() == "The calendar URL no longer works."
    with pytest.raises(NotFound):
        app.calendar_feed(renewed.rsplit("/", 1)[1].removesuffix(".ics"), public_url="https://coopflow.example")
    assert "not both" in cli(capsys, "me", "calendar", "--as", CARITAS, "--renew", "--revoke", code=2)
