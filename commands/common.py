"""What every command shares: settings, the store, the application layer, output and errors."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from sqlalchemy.engine import Engine

from domain import Actor, InvalidRequest
from logs import configure_logging
from settings import Settings, get_settings
from store import check_schema, make_engine, upgrade

if TYPE_CHECKING:
    from services.app import Coopflow

T = TypeVar("T")
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine output on stdout (JSON), nothing else.")]
AsOpt = Annotated[str, typer.Option("--as", help="E-mail of the user to act as (operator mode).")]
LimitOpt = Annotated[int | None, typer.Option("--limit", min=1,
                                               help="At most this many (the first ones); all by default.")]
OPERATOR = Actor(user="operator", org="operator", role="auditor")


class Runtime:
    """Lazily opened resources of one command run."""

    def __init__(self, settings: Settings | None = None, *, migrate: bool = False) -> None:
        self.settings = settings or get_settings()
        self.migrate = migrate  # `coopflow dev` migrates its own store; everything else refuses
        configure_logging(self.settings.log_format, self.settings.log_level)

    @cached_property
    def engine(self) -> Engine:
        if not self.migrate and not self.settings.database_url:
            self.check_store_file()
        engine = make_engine(self.settings.store_url)
        if self.migrate:
            upgrade(engine)
        else:
            check_schema(engine)
        return engine

    def check_store_file(self) -> None:
        """The embedded store is a file in the data dir: a command run elsewhere must say where it
        looked, not create an empty store there."""
        path = (self.settings.data_dir / "coopflow.db").resolve()
        if not path.exists():
            raise InvalidRequest(
                f"No coopflow store at {path}. Run this command in the folder where `coopflow dev` runs, "
                "or point it at the store: COOPFLOW_DATA_DIR=/path/to/.coopflow (the embedded SQLite store) "
                "or COOPFLOW_DATABASE_URL=postgresql://… (a server); `coopflow db upgrade` creates a new one.",
                {"store": str(path)})

    def app_without_temporal(self) -> Coopflow:
        """For commands that only read the store: no Temporal connection is made."""
        from services.app import Coopflow

        return Coopflow.configured(self.settings, engine=self.engine, client=None)  # type: ignore[arg-type]

    async def app(self) -> Coopflow:
        from services.app import Coopflow
        from services.temporal import connect

        client = await connect(self.settings)
        return Coopflow.configured(self.settings, engine=self.engine, client=client)

    def actor(self, email: str | None) -> Actor:
        return OPERATOR if email is None else self.app_without_temporal().actor_for_email(email)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def output(as_json: bool, data: Any, human: Callable[[Any], str] | str) -> None:
    """Print ``data`` as JSON, or as the human text."""
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    else:
        sys.stdout.write((human if isinstance(human, str) else human(data)) + "\n")
    sys.stdout.flush()  # servers print this once and then run for hours


def parse_json_option(text: str | None, name: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not valid JSON ({exc.msg} at character {exc.pos})", param_hint=name) from None


def task_line(t: dict[str, Any], with_project: bool = True) -> str:
    extra = f" about {t['subject_org']}" if t.get("subject_org") else ""
    occ = f" #{t['occurrence']}" if t.get("occurrence") else ""
    late = "  OVERDUE" if t.get("deadline_missed") and t["status"] == "open" else ""
    outcomes = f"  outcomes: {', '.join(t['outcomes'])}" if t["outcomes"] and t["status"] == "open" else ""
    project = f"{t['project_id']}  " if with_project else ""
    held = f"  held by {t['holder']['name']}" if t.get("holder") else ""
    held += f" (you stand in for {t['substitute_for']['name']})" if t.get("substitute_for") else ""
    return (f"{project}{t['id']:>4}  {t['step']}{occ}{extra}  round {t['round']}  "
            f"[{t['status']}]  due {t['due_at'][:16].replace('T', ' ')}{late}{held}{outcomes}")
