"""The activity behind the minutely schedule that sends kept checkpoints to the partners' witnesses."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from temporalio import activity

from activities.contracts import SUBMIT_TO_WITNESSES
from services.witnessing import submit_to_witnesses


class WitnessActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name=SUBMIT_TO_WITNESSES)
    def submit_to_witnesses(self) -> dict[str, int]:
        """Every latest checkpoint not yet cosigned by each registered witness of its project's organisations,
        sent to that witness; a witness's failure is recorded (and retried next minute), never raised."""
        return submit_to_witnesses(self._engine, heartbeat=activity.heartbeat)
