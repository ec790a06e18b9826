"""The activity behind the daily checkpoint: sign the trail of every active project."""

from __future__ import annotations

import structlog
from sqlalchemy.engine import Engine
from temporalio import activity

from activities.contracts import CHECKPOINT_PROJECTS
from evidence.notes import Signer
from evidence.signing import checkpoint_trail
from store import read

log = structlog.get_logger("coopflow.activities")


class CheckpointActivities:
    def __init__(self, engine: Engine, signer: Signer) -> None:
        self._engine = engine
        self._signer = signer

    @activity.defn(name=CHECKPOINT_PROJECTS)
    def checkpoint_active_projects(self) -> int:
        """A checkpoint for each active project whose trail grew since its last one; returns how many."""
        made = 0
        for project in read.list_projects(self._engine):
            if project["status"] == "active":
                made += checkpoint_trail(self._engine, self._signer, project["id"])["new"]
                activity.heartbeat(project["id"])
        log.info("daily checkpoints signed", new=made)
        return made
