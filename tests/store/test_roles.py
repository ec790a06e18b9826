"""Two database roles on the real PostgreSQL: the migration role owns the schema; the app role, which web
and workers connect as, may append to the audit tables but neither change them nor drop their triggers."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from temporalio.client import Client

from evidence.notes import Signer
from services.app import Coopflow
from services.seed import seed_demo
from store import check_schema, iter_events, make_engine
from tests.conftest import PG_ADMIN_URL
from tests.utils.app import LEAD, actor, start
from tests.utils.scenario import SAMPLE_DATA
from worker import build_worker

COOPFLOW = str(Path(sys.executable).parent / "coopflow")
SERVER = PG_ADMIN_URL.rsplit("/", 1)[0]
APPEND_ONLY = ("audit_event", "checkpoint", "personal_data_read")


class Roles:
    def __init__(self) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.database, self.owner, self.app = f"coopflow_roles_{suffix}", f"cf_owner_{suffix}", f"cf_app_{suffix}"

    def url(self, role: str) -> str:
        return f"{SERVER.replace('//postgres@', f'//{role}@')}/{self.database}"

    def upgrade(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`coopflow db upgrade` as the migration role, as compose's one-shot `migrate` runs it."""
        env = {**os.environ, "COOPFLOW_DATABASE_URL": self.url(self.owner)}
        return subprocess.run([COOPFLOW, "db", "upgrade", *args], env=env, capture_output=True, text=True,
                              timeout=120, check=False)


@pytest.fixture
def roles() -> Iterator[Roles]:
    found = Roles()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{found.owner}" LOGIN')
        conn.execute(f'CREATE ROLE "{found.app}" LOGIN')
        conn.execute(f'CREATE DATABASE "{found.database}" OWNER "{found.owner}"')
    yield found
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{found.database}" WITH (FORCE)')
        conn.execute(f'DROP ROLE IF EXISTS "{found.app}"')
        conn.execute(f'DROP ROLE IF EXISTS "{found.owner}"')


def refused(engine: Engine, statement: str) -> str:
    """The database's refusal of ``statement`` (which must be refused)."""
    with pytest.raises(DBAPIError) as error, engine.begin() as conn:
        conn.execute(text(statement))
    return str(error.value.orig)


async def test_the_app_role_appends_to_the_trail_and_cannot_change_it(roles: Roles, temporal_client: Client):
    done = roles.upgrade("--app-role", roles.app)
    assert done.returncode == 0, done.stderr
    print(done.stdout)
    app_engine = make_engine(roles.url(roles.app))
    check_schema(app_engine)  # the app reads the schema's revision
    seed_demo(app_engine)

    # the normal path, as the app role: a project started, a task completed, a checkpoint signed
    task_queue = f"tq-{uuid.uuid4()}"
    signer = Signer.generate("coopflow/test.example")
    async with build_worker(temporal_client, app_engine, task_queue, signer=signer):
        app = Coopflow(engine=app_engine, client=temporal_client, task_queue=task_queue, signer=signer)
        project = await start(app)
        pid = project["id"]
        await app.complete_task(actor(app, LEAD), pid, "t1", data=SAMPLE_DATA["concept_note"])
        assert app.checkpoint(actor(app, "auditor"), pid)["size"] == len(list(iter_events(app_engine, pid)))
    assert app.verify(actor(app, "auditor"), pid)["ok"]

    # what the app's credentials cannot do to the append-only tables, whatever the code or person
    for table in APPEND_ONLY:
        for statement in (f"UPDATE {table} SET project_id = project_id", f"DELETE FROM {table}",
                          f"TRUNCATE {table}", f"DROP TRIGGER {table}_append_only ON {table}",
                          f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only", f"DROP TABLE {table}"):
            why = refused(app_engine, statement)
            assert "permission denied" in why or "must be owner" in why, (statement, why)
    assert "permission denied" in refused(app_engine, "SET session_replication_role = replica")
    assert "permission denied" in refused(app_engine, "UPDATE alembic_version SET version_num = 'x'")
    with app_engine.begin() as conn:  # appending is what it does
        conn.execute(text("INSERT INTO audit_event (project_id, seq, type, at, data, prev_hash, hash) "
                          "VALUES ('appended', 1, 'Test', '2027-01-01T00:00:00.000000Z', '{}', :h, :h)"),
                     {"h": "0" * 64})
    assert list(iter_events(app_engine, "appended"))

    # a second upgrade (a new release) grants again and changes nothing else
    again = roles.upgrade("--app-role", roles.app)
    assert again.returncode == 0 and "already at revision" in again.stdout, again.stderr
    app_engine.dispose()


def test_a_role_that_could_drop_the_triggers_is_refused_as_the_app_role(roles: Roles):
    """The migrating role itself, a superuser, a member of the owner, a role that does not exist: each
    refused with what to do, and nothing granted."""
    assert roles.upgrade().returncode == 0
    for role, says in [(roles.owner, "owns"), ("postgres", "superuser"), ("no_such_role_x", "no database role")]:
        done = roles.upgrade("--app-role", role)
        assert done.returncode == 1 and says in done.stderr, (role, done.stderr)
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'GRANT "{roles.owner}" TO "{roles.app}"')
    done = roles.upgrade("--app-role", roles.app)
    assert done.returncode == 1 and "member" in done.stderr, done.stderr
