"""Schema migrations (Alembic): upgrade, and the check that refuses an out-of-date database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from domain import DomainError

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaOutdated(DomainError):
    code = "schema_outdated"


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def head_revision() -> str:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Apply every pending migration; returns (revision before, revision now)."""
    before = current_revision(engine)
    config = _config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return before, head_revision()


def check_schema(engine: Engine) -> None:
    """Refuse to run on a database that is not at the newest migration."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        state = "has no coopflow schema yet" if current is None else f"is at revision {current}, not {head}"
        url = engine.url.render_as_string(hide_password=True)
        raise SchemaOutdated(f"The database {url} {state}. Run `coopflow db upgrade` first "
                             "(with the same COOPFLOW_DATABASE_URL).")
