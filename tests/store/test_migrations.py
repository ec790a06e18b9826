"""Migrations on SQLite and PostgreSQL: the schema is the models', events are append-only."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel

from domain import summary_view, task_view
from store import SchemaOutdated, check_schema, make_engine, record_batch, upgrade
from store.migrate import current_revision, head_revision
from tests.utils.domain import Project


def test_migrated_schema_is_exactly_the_models(engine: Engine):
    assert current_revision(engine) == head_revision()
    check_schema(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []


def test_an_unmigrated_database_is_refused(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    with pytest.raises(SchemaOutdated, match=r"has no coopflow schema yet\. Run `coopflow db upgrade` first"):
        check_schema(engine)
    assert upgrade(engine) == (None, head_revision())
    assert upgrade(engine) == (head_revision(), head_revision())
    check_schema(engine)


@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET data = '{}' WHERE project_id = :p",
    "DELETE FROM audit_event WHERE project_id = :p",
])
def test_the_database_refuses_to_change_or_delete_an_audit_event(engine: Engine, statement: str):
    p = Project()
    p.state = p.state.model_copy(update={"id": f"append-only-{len(statement)}-{engine.dialect.name}"})
    record_batch(engine, project=summary_view(p.state), events=p.events,
                 tasks=[task_view(p.state, t) for t in p.state.tasks.values()])
    with pytest.raises(DBAPIError, match="audit_event is append-only"), engine.begin() as conn:
        conn.execute(text(statement), {"p": p.state.id})
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM audit_event WHERE project_id = :p"), {"p": p.state.id})
        assert count.scalar_one() == len(p.events)
