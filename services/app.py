"""The application layer: every use case, with its permission check. CLI and web call only this.

``Coopflow`` is one object with one method per use case; the methods live in modules by topic:
``identity.py`` (who calls), ``projects.py``, ``tasks.py``, ``changes.py`` (changes to a running
project), ``trail.py`` (the audit trail, incidents, mail), ``lists.py`` (the lists, a page at a time),
``documents.py``, ``checkpoints.py`` (signed checkpoints, proofs, bundles), ``personal.py`` (personal data:
sealing, erasure, the person's copy), ``pictures.py`` (what the timeline and the open-work chart draw),
``me.py`` (a person's mail preferences and calendar feed), ``people.py`` (who holds a task, substitutes), on
the shared resources and checks of
``base.py``.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from services.base import UPDATE_TIMEOUT, check_project_id
from services.changes import Changes
from services.checkpoints import Checkpoints
from services.documents import Documents
from services.identity import Identity
from services.lists import Lists
from services.me import Me
from services.people import People
from services.personal import PersonalData
from services.pictures import Pictures
from services.projects import Projects
from services.tasks import Tasks
from store import incidents as store_incidents
from store import read
from store.documents import FolderStorage
from templates import TemplateRegistry

if TYPE_CHECKING:
    from settings import Settings

__all__ = ["UPDATE_TIMEOUT", "Coopflow", "check_project_id"]


class Coopflow(Identity, Lists, Projects, Tasks, Changes, Checkpoints, Documents, PersonalData, Pictures, Me,
               People):
    """Use cases over one store (engine), one Temporal client and the template registry."""

    @classmethod
    def configured(cls, settings: Settings, *, engine: Engine, client: Client, signs: bool = True) -> Coopflow:
        """The application layer with the deployment's settings (task queue, waits, template folders). Without
        ``signs`` (the web app, which only checks checkpoints) it holds the verifier key and no signing key."""
        return cls(engine=engine, client=client, task_queue=settings.task_queue,
                   templates=TemplateRegistry(*settings.template_dirs),
                   update_timeout=settings.update_timeout, write_timeout=settings.write_timeout,
                   workflow_task_timeout=settings.workflow_task_timeout,
                   documents=FolderStorage(settings.documents_path), max_document_bytes=settings.max_document_bytes,
                   signer=settings.signer if signs else None, verifier=settings.verifier,
                   key_encryption_keys=settings.key_encryption_keys)

    async def health(self) -> dict[str, Any]:
        """``ok`` or ``unavailable`` for Temporal and for the store, and the open incidents."""
        parts = {"temporal": "ok", "store": "ok"}
        try:
            await self.client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=timedelta(seconds=2))
        except Exception:
            parts["temporal"] = "unavailable"
        try:
            await asyncio.to_thread(read.ping, self.engine)
        except Exception:
            parts["store"] = "unavailable"
        result: dict[str, Any] = {"status": "ok" if set(parts.values()) == {"ok"} else "unavailable", **parts}
        if parts["store"] == "ok":  # a project paused by an incident waits for an operator: say so here too
            found = [{k: i[k] for k in ("project_id", "seq", "since")}
                     for i in await asyncio.to_thread(store_incidents, self.engine)]
            if found:
                result["incidents"] = found
        return result
