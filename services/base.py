"""What every part of the application layer shares: the store, Temporal, templates, and checks."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from sqlalchemy.engine import Engine
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain import (
    Actor,
    Event,
    InvalidRequest,
    NotFound,
    TaskState,
    Template,
    error_from_code,
    fold,
    format_time,
    holder_of,
    parse_time,
    project_view,
    started_state,
)
from domain.limits import shown
from evidence.notes import Signer, Verifier
from evidence.signing import SigningKeyMissing
from services import access, holders
from services.codec import new_key, parse_keys
from services.sealing import KeyEncryptionKeys, Sealer, open_data
from store import EventFilter, StoreUnavailable, iter_events, personal, read, web_state
from store.documents import DocumentStorage, FolderStorage
from store.pinned import PinnedTemplates
from templates import TemplateRegistry

P = ParamSpec("P")
_PROCESS_KEY = object()  # no key-encryption keys configured: a key of this process only (tests, benches)
R = TypeVar("R")
UPDATE_TIMEOUT = 30.0  # seconds a caller waits for Temporal before hearing why not
PROJECT_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")  # start_project makes 12 hex digits
TASK_ID = re.compile(r"t[0-9]{1,6}")


class AppBase:
    """The resources and shared steps of the use cases (``services/app.py`` assembles them)."""

    def __init__(self, *, engine: Engine, client: Client, task_queue: str,
                 templates: TemplateRegistry | None = None, update_timeout: float = UPDATE_TIMEOUT,
                 write_timeout: float = 10.0, workflow_task_timeout: float = 10.0,
                 documents: DocumentStorage | None = None, max_document_bytes: int = 20 * 1024 * 1024,
                 signer: Signer | Callable[[], Signer] | None = None,
                 verifier: Verifier | Callable[[], Verifier] | None = None,
                 key_encryption_keys: KeyEncryptionKeys | Callable[[], KeyEncryptionKeys | None] | None = None
                 ) -> None:
        self.engine, self.client, self.task_queue = engine, client, task_queue
        # where documents' bytes live; the default suits one machine (the data dir's default place)
        self.documents: DocumentStorage = documents or FolderStorage(Path(".coopflow") / "documents")
        self.max_document_bytes = max_document_bytes
        self._signer = signer
        self._verifier = verifier
        self._keks: Any = _PROCESS_KEY if key_encryption_keys is None else key_encryption_keys
        self.update_timeout = update_timeout  # how long a caller waits for Temporal before a 503
        self.write_timeout = write_timeout  # how long one attempt of a store write may take
        self.workflow_task_timeout = workflow_task_timeout
        self.templates = templates or TemplateRegistry()
        self._pinned = PinnedTemplates(engine)

    @property
    def signer(self) -> Signer:
        """The deployment's signing key, loaded (or made) when first needed; without one configured,
        a key for this process only. A process given only a verifier (the web app) has none."""
        if self._signer is None:
            if self._verifier is not None:
                raise SigningKeyMissing("This process checks checkpoints and never signs (it has only "
                                        "COOPFLOW_VERIFIER_KEY): sign where COOPFLOW_SIGNING_KEY is set, with "
                                        "`coopflow audit checkpoint` or by a worker.", {"signing_key": "not here"})
            self._signer = Signer.generate("coopflow/local")
        elif not isinstance(self._signer, Signer):
            self._signer = self._signer()
        return self._signer

    @property
    def verifier(self) -> Verifier:
        """The key checkpoints are checked with: the one given, else the signing key's."""
        if self._verifier is None:
            return self.signer.verifier
        if not isinstance(self._verifier, Verifier):
            self._verifier = self._verifier()
        return self._verifier

    @property
    def key_encryption_keys(self) -> KeyEncryptionKeys | None:
        """The keys that wrap personal data's keys (loaded when first needed: the deployment's, or None when
        it has none); without one configured, a key for this process only."""
        if self._keks is _PROCESS_KEY:
            self._keks = KeyEncryptionKeys(parse_keys(new_key("process")), "a key of this process only")
        elif callable(self._keks):  # the deployment's, loaded once: None when it has none
            self._keks = self._keks()
        keys: KeyEncryptionKeys | None = self._keks
        return keys

    async def read_store(self, read: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """A short read of the store from async code: on the event loop for SQLite, in a thread otherwise.

        SQLite in WAL mode never makes a reader wait for the writer, and reading a few rows takes a
        fraction of a millisecond: less than handing the read to a thread and back, which costs about
        0.5 ms of CPU per request on a 2-core VM (docs/production.md, "Where a request's time goes").
        PostgreSQL reads go over the network, so they stay in a thread and the loop never waits on one.
        Only for reads of a bounded size, never for a write (it may wait for SQLite's writer).
        """
        if self.engine.dialect.name == "sqlite":
            return read(*args, **kwargs)
        return await asyncio.to_thread(read, *args, **kwargs)

    def template_of(self, project: dict[str, Any]) -> Template:
        """The template as the project pinned it (store/pinned.py), whatever is installed under its
        id and version now."""
        return self._pinned.of(project["id"])

    def sealer(self, project_id: str, *, may_write: bool = True) -> Sealer:
        return Sealer(self.engine, self.key_encryption_keys, project_id, may_write=may_write)

    def open_tasks(self, actor: Actor, project: dict[str, Any], template: Template, via: str | None
                   ) -> dict[str, Any]:
        """The project (as the actor may see it) with its tasks' sealed values opened, and the read noted;
        ``via`` None: nobody is shown them (the answer is not shown), so they stay sealed."""
        if via is None or "tasks" not in project or not template.has_personal_fields():
            return project
        sealer, shown, tasks = self.sealer(project["id"]), [], []
        for task in project["tasks"]:
            data, opened, erased = open_data(sealer, template, task["step"], task["id"], task.get("data") or {})
            shown += [f"{task['id']}.{name}" for name in opened]
            if opened or erased:
                task = {**task, "data": data, "erased_fields": sorted({*task.get("erased_fields", []), *erased})}
            tasks.append(task)
        self.note_read(actor, project["id"], shown, via)
        return {**project, "tasks": tasks}

    def open_task(self, actor: Actor, project: dict[str, Any], task: dict[str, Any], via: str | None
                  ) -> dict[str, Any]:
        """One task's view (a completion's answer) opened for the actor who may read it."""
        template = self.template_of(project)
        opened = self.open_tasks(actor, {**project, "tasks": [task]}, template, via)
        return dict(opened["tasks"][0]) if "tasks" in opened else task

    def note_read(self, actor: Actor, project_id: str, fields: list[str], via: str) -> None:
        if fields:
            personal.record_read(self.engine, project_id=project_id, at=format_time(datetime.now(UTC)), actor=actor,
                              fields=fields, via=via)

    def list_projects(self, actor: Actor) -> list[dict[str, Any]]:
        if actor.role == "auditor":
            return read.list_projects(self.engine)
        led = read.list_projects(self.engine, lead=actor.org)
        return led + read.list_projects(self.engine, member=actor.org)

    def show_project(self, actor: Actor, project_id: str, as_of: str | None = None,
                     task_status: str | None = None, via: str | None = "api") -> dict[str, Any]:
        """The project as it is, or as it was at ``as_of``, rebuilt from the stored events; with
        ``task_status``, only its tasks with that status (read as such from the store when it can be).
        Personal values the actor may read are opened, and the read noted as made ``via`` a page, the API
        (and command line) or an export; ``via`` None leaves them sealed (an answer nobody is shown)."""
        if as_of is None:
            check_project_id(project_id)
            project = access.check_may_see(actor, read.get_project(self.engine, project_id, with_tasks=True,
                                                                   task_status=task_status), project_id)
            template = self.template_of(project)
            if task_status is not None and template.has_personal_fields():
                # who may read a personal field follows from the completed tasks: redact the whole project
                project = read.get_project(self.engine, project_id, with_tasks=True) or project
        else:
            self._project(actor, project_id)
            until = moment(as_of, "as_of", end=True)
            events = [Event.model_validate(e) for e in iter_events(self.engine, project_id, EventFilter(until=until))]
            if not events:
                raise NotFound(f"Project '{project_id}' did not exist yet at {as_of}.", {"as_of": as_of})
            first = events[0].data
            # a trail that names its template by digest is folded onto the pinned template (the store's text)
            begun = None if "template" in first else started_state(self._pinned.of(project_id, first))
            project = {**project_view(fold(events, begun)), "as_of": until}
            template = self.template_of(project)
        shown = access.redacted_project(actor, project, template)
        if template.has_personal_fields():
            shown["personal_data"] = personal_state(shown)
        if task_status is not None:
            shown = {**shown, "tasks": [t for t in shown["tasks"] if t["status"] == task_status]}
        if "tasks" in shown:
            shown = {**shown, "tasks": holders.named(self.engine, shown["tasks"], actor)}
        return self.open_tasks(actor, shown, template, via)

    async def read_project(self, actor: Actor, project_id: str, task_status: str | None = None) -> dict[str, Any]:
        """``show_project`` for the API's event loop: read as a short read (``read_store``), then, for a
        project with personal data the actor may read, opened and the read noted in a thread (a write)."""
        project = await self.read_store(self.show_project, actor, project_id, task_status=task_status, via=None)
        template = self.template_of(project)
        if not template.has_personal_fields():
            return project
        return await asyncio.to_thread(self.open_tasks, actor, project, template, "api")

    def project_tasks(self, actor: Actor, project_id: str, status: str | None = None,
                      via: str | None = "api") -> list[dict[str, Any]]:
        """The project's tasks in the order they opened, or only those with ``status``: what a client reads
        to know what is open without the whole project."""
        tasks: list[dict[str, Any]] = self.show_project(actor, project_id, task_status=status, via=via)["tasks"]
        return tasks

    def _project(self, actor: Actor, project_id: str) -> dict[str, Any]:
        check_project_id(project_id)
        return access.check_may_see(actor, read.get_project(self.engine, project_id), project_id)

    def _claim(self, actor: Actor, route: str, key: str, request: dict[str, Any], secret: bytes | None = None) -> bool:
        """This user's key for this route, with this request's fingerprint: True the first time, False for a
        repeat of the same request; another request under the same key is refused (409). A request with
        personal values is fingerprinted with ``secret`` (HMAC), a key destroyed with those values."""
        text = json.dumps(request, sort_keys=True, default=str).encode()
        fingerprint = (hmac.new(secret, text, hashlib.sha256) if secret else hashlib.sha256(text)).hexdigest()
        return web_state.claim_key(self.engine, user_id=actor.user, route=route, key=key, fingerprint=fingerprint,
                                   now=time.time())



def personal_state(project: dict[str, Any]) -> dict[str, Any]:
    """Whether a project's personal data is kept or erased, and sealed: as its workflow last wrote it, or, for
    one that ended before sealing (its row has none), kept and not sealed."""
    state: dict[str, Any] = project.get("personal_data") or {"status": "kept", "sealed": False}
    return state


def task_state(view: dict[str, Any]) -> TaskState:
    """A task's state as its stored view shows it (without its data: the checks never need it)."""
    fields = {k: view[k] for k in TaskState.model_fields if k in view and k != "data"}
    return TaskState.model_validate({**fields, "held_by": holder_of(view)})


def check_project_id(project_id: str) -> None:
    """An id no project can have is simply not found (before it reaches a database query)."""
    if not PROJECT_ID.fullmatch(project_id):
        raise NotFound(f"There is no project '{shown(project_id)}' that you may see.")


def update_error(exc: WorkflowUpdateFailedError) -> Exception:
    """The domain error a rejected or failed update carries, or the failure as it is."""
    cause = exc.cause
    if isinstance(cause, ApplicationError) and cause.type:
        details = cause.details[0] if cause.details else None
        if cause.type == StoreUnavailable.code:
            return StoreUnavailable(cause.message, details)
        return error_from_code(cause.type, cause.message, details)
    return exc


def moment(text: str | None, field: str, *, end: bool = False) -> str | None:
    """An ISO 8601 moment in the events' own representation, for comparing with ``at``.

    With ``end`` (``until``, ``as_of``) a moment given to the minute, second or millisecond means
    its last microsecond, so that an event shown as 12:00:00.123 is in the state "as of" 12:00:00.123.
    """
    if text is None:
        return None
    try:
        at = parse_time(text)
        if end:
            at += _precision(text) - timedelta(microseconds=1)
        return format_time(at)
    except (ValueError, OverflowError):
        raise InvalidRequest(f"'{shown(text)}' is not an ISO 8601 moment such as 2027-03-01T12:00:00Z.",
                             {field: "invalid"}) from None


def _precision(text: str) -> timedelta:
    """The unit of the last digit of an ISO 8601 moment: a day, a minute, a second or a fraction of one."""
    _, has_time, rest = text.partition("T")
    clock = re.match(r"\d\d:?\d\d(?::?\d\d(?:[.,](\d+))?)?", rest)
    if not has_time or clock is None:
        return timedelta(days=1)
    if clock.group(0).count(":") < 2 and len(clock.group(0).replace(":", "")) <= 4:
        return timedelta(minutes=1)
    return timedelta(seconds=10 ** -min(len(clock.group(1) or ""), 6))
