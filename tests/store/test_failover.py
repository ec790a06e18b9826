"""A failover seen from the store: the old primary, demoted, answers every write with "cannot execute
… in a read-only transaction" (SQLSTATE 25006). That goes away by itself once the application reaches
the new primary: it is not a refusal of the data, so no incident is opened and the write is retried.
Tried on the real PostgreSQL, with sessions that are read-only as a hot standby's are."""

from __future__ import annotations

import pytest
from sqlalchemy import exc as sa
from sqlalchemy import text
from sqlalchemy.engine import Engine

from activities.contracts import RecordEvents
from activities.store_writes import StoreWrites
from domain import summary_view, task_view
from store import incidents, is_unavailable, make_engine, record_batch
from tests.store.test_audit_store import fresh_project


@pytest.fixture
def read_only(postgresql_engine: Engine) -> Engine:
    """The same database, reached through sessions that may only read (a demoted primary's answer)."""
    url = postgresql_engine.url.render_as_string(hide_password=False).replace("+psycopg", "")
    engine = make_engine(f"{url}?options=-c%20default_transaction_read_only%3Don")
    yield engine
    engine.dispose()


def batch(p):
    return {"project": summary_view(p.state), "events": p.events,
            "tasks": [task_view(p.state, t) for t in p.state.tasks.values()]}


def test_a_read_only_server_is_unavailable_not_a_refusal(read_only: Engine):
    with pytest.raises(sa.DBAPIError) as raised:
        record_batch(read_only, **batch(fresh_project()))
    assert getattr(raised.value.orig, "sqlstate", None) == "25006"
    assert is_unavailable(raised.value)


def test_an_idle_transaction_ended_by_the_server_is_unavailable(postgresql_engine: Engine):
    with pytest.raises(sa.DBAPIError) as raised, postgresql_engine.connect() as conn:
        conn.execute(text("SET idle_in_transaction_session_timeout = '50ms'"))
        conn.execute(text("SELECT 1"))
        conn.execute(text("SELECT pg_sleep(0.3)"))  # a statement is not idle: the session lives
        conn.commit()
        conn.execute(text("SELECT 1"))
        import time
        time.sleep(0.3)  # idle in the transaction: the server ends the session
        conn.execute(text("SELECT 1"))
    assert is_unavailable(raised.value)


def test_data_the_database_refuses_stays_a_refusal(postgresql_engine: Engine):
    with pytest.raises(sa.DBAPIError) as raised, postgresql_engine.connect() as conn:
        conn.execute(text("SELECT 1/0"))
    assert not is_unavailable(raised.value)


def test_the_write_activity_retries_through_a_failover_and_opens_no_incident(read_only: Engine,
                                                                              postgresql_engine: Engine):
    p = fresh_project()
    args = RecordEvents(**batch(p))
    with pytest.raises(sa.DBAPIError):  # raised as it is: Temporal retries it with back-off
        StoreWrites(read_only)._record(args, 0.0)
    assert incidents(postgresql_engine, p.state.id) == []
    assert record_batch(postgresql_engine, **batch(p)) == len(p.events)  # the new primary takes it
