"""Waiting for Temporal's answer: the incident check a waiting caller makes every few seconds reads the store
in a thread, never on the event loop, and a store that cannot be read does not end the wait with an error
(Temporal may well have accepted the change: only its answer counts)."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest

from services import updates
from services.temporal import call_until
from services.updates import paused, update_id
from store import make_engine

DEAD = "postgresql://postgres@127.0.0.1:1/nowhere"  # a store that is away: nothing listens there


async def test_a_store_that_is_away_does_not_end_the_wait(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("services.temporal.GIVE_UP_EVERY", 0.2)
    engine = make_engine(DEAD)
    read_in: list[int] = []
    real = updates.store_incidents

    def incidents(*args, **kwargs):
        read_in.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(updates, "store_incidents", incidents)

    async def call(_: timedelta) -> str:
        await asyncio.sleep(1.0)  # Temporal takes its time to answer
        return "accepted"

    loop = asyncio.get_running_loop()
    answer = await call_until(loop.time() + 30, call, waiting_for="the change",
                              give_up=lambda: paused(engine, "p-1"))
    assert answer == "accepted"
    assert read_in and threading.get_ident() not in read_in


async def test_an_open_incident_ends_the_wait_with_its_words(engine, monkeypatch: pytest.MonkeyPatch):
    from store import record_incident

    monkeypatch.setattr("services.temporal.GIVE_UP_EVERY", 0.2)
    record_incident(engine, project_id="p-paused", seq=4, since="2027-01-04T09:00:00Z", reason="ChainConflict")

    async def call(_: timedelta) -> str:
        await asyncio.sleep(30)
        return "never"

    loop = asyncio.get_running_loop()
    with pytest.raises(Exception, match="incident since 2027-01-04T09:00:00Z"):
        await call_until(loop.time() + 30, call, waiting_for="the change", give_up=lambda: paused(engine, "p-paused"))


def test_update_ids_name_neither_the_user_nor_the_key():
    made = update_id("complete", "u-caritas-1", "p1/t3", "my-key-42")
    assert made == update_id("complete", "u-caritas-1", "p1/t3", "my-key-42")
    assert made != update_id("complete", "u-caritas-1", "p1/t4", "my-key-42")
    assert "caritas" not in made and "my-key" not in made
    assert update_id("complete", "u-caritas-1", "p1/t3", None) != update_id("complete", "u-caritas-1", "p1/t3", None)
