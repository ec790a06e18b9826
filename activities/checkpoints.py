"""Checkpoints: the activity behind the daily one (the trail of every active project), and the closing one
of a project that ended or erased its personal data (made by the store write, right after it)."""

from __future__ import annotations

import structlog
from sqlalchemy.engine import Engine
from temporalio import activity

from activities.contracts import CHECKPOINT_PROJECTS
from evidence.notes import Signer
from evidence.signing import TrailBroken, checkpoint_trail
from store import read
from store.checkpoints import latest_sizes

log = structlog.get_logger("coopflow.activities")


def closing_checkpoint(engine: Engine, signer: Signer, project_id: str) -> None:
    """The project's last checkpoint, right after the write that ended it or erased its personal data (no
    daily checkpoint signs an ended project's trail again; a retry of the write makes it if a crash came
    between). A failure here is logged, never the write's: the daily one follows."""
    try:
        checkpoint_trail(engine, signer, project_id)
    except Exception:
        log.exception("the closing checkpoint could not be made", project_id=project_id)


class CheckpointActivities:
    def __init__(self, engine: Engine, signer: Signer) -> None:
        self._engine = engine
        self._signer = signer

    @activity.defn(name=CHECKPOINT_PROJECTS)
    def checkpoint_active_projects(self) -> int:
        """A checkpoint for each active project whose trail grew since its last one; returns how many."""
        made = 0
        signed = latest_sizes(self._engine)
        for project in read.list_projects(self._engine):
            # only trails that grew since their last checkpoint are read (and checked, and signed)
            if project["status"] == "active" and project["seq"] > signed.get(project["id"], 0):
                try:
                    made += checkpoint_trail(self._engine, self._signer, project["id"])["new"]
                except TrailBroken:  # recorded as an alarm, shown on the audit page; the others are signed
                    pass
                activity.heartbeat(project["id"])
        log.info("daily checkpoints signed", new=made)
        return made
