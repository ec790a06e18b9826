"""Crashes on demand, for the durability tests and the chaos benchmark (``COOPFLOW_FAULTS``).

``COOPFLOW_FAULTS="write.after:2"`` kills the worker process the second time a store write has
committed but not yet reported back to Temporal. Points, each at most once per process:

- ``workflow_task.kill`` / ``workflow_task.fail``: inside a workflow task that has decided
  events, before Temporal records it (the process dies / the task raises and is retried);
- ``write.before``: as a store write starts, before it touches the store;
- ``write.after``: after the store write committed, before Temporal hears of it;
- ``write.stop``: while a store write's transaction is open, the worker is told to stop (SIGTERM,
  as a deploy or a scale-down does); the transaction stays open a second longer;
- ``checkpoint.before``: after the store write that ends a project committed, before its closing
  checkpoint is signed;
- ``erase.event_written`` / ``erase.keys_destroyed``: inside the transaction of the write that records
  a ``PersonalDataErased``: the event is written but the data keys not yet destroyed / both, not yet
  committed.

Never set in production: a worker with faults dies on purpose.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from typing import Any

import structlog
from temporalio import activity, workflow
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    StartActivityInput,
    StartLocalActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from activities import RECORD_EVENTS

POINTS = ("workflow_task.kill", "workflow_task.fail", "write.before", "write.after", "write.stop", "checkpoint.before",
          "erase.event_written", "erase.keys_destroyed")
log = structlog.get_logger("coopflow.faults")


class InjectedFault(RuntimeError):
    """A workflow task failed on purpose (``workflow_task.fail``)."""


class Faults:
    """Which points fire, on which visit; counted per process."""

    def __init__(self, spec: str) -> None:
        self._when: dict[str, int] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            point, _, nth = part.partition(":")
            if point not in POINTS or (nth and not nth.isdigit()):
                raise ValueError(f"COOPFLOW_FAULTS: {part!r} is not point[:n] with a point of {', '.join(POINTS)}")
            self._when[point] = int(nth or 1)
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self._when)

    def fires(self, point: str) -> bool:
        with self._lock:
            if point not in self._when:
                return False
            self._seen[point] += 1
            return self._seen[point] == self._when[point]

    def hit(self, point: str) -> None:
        """Act at ``point`` if it is this point's turn: die, raise (workflow_task.fail), or be told to
        stop (write.stop)."""
        if not self.fires(point):
            return
        log.warning("injected fault", point=point)
        if point == "workflow_task.fail":
            raise InjectedFault(f"injected fault at {point}")
        if point == "write.stop":
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(20):  # in short steps: whatever the stop does to this thread lands here
                time.sleep(0.05)
            return
        os.kill(os.getpid(), signal.SIGKILL)


class FaultInterceptor(Interceptor):
    def __init__(self, faults: Faults) -> None:
        self.faults = faults

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityFaults(next, self.faults)

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        faults = self.faults

        class _Inbound(WorkflowInboundInterceptor):
            def init(self, outbound: WorkflowOutboundInterceptor) -> None:
                super().init(_WorkflowFaults(outbound, faults))

        return _Inbound


class _ActivityFaults(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, faults: Faults) -> None:
        super().__init__(next)
        self.faults = faults

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        if activity.info().activity_type != RECORD_EVENTS:
            return await self.next.execute_activity(input)
        self.faults.hit("write.before")
        result = await self.next.execute_activity(input)
        self.faults.hit("write.after")
        return result


class _WorkflowFaults(WorkflowOutboundInterceptor):
    def __init__(self, next: WorkflowOutboundInterceptor, faults: Faults) -> None:
        super().__init__(next)
        self.faults = faults

    def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle[Any]:
        self._in_task(input.activity)
        return self.next.start_activity(input)

    def start_local_activity(self, input: StartLocalActivityInput) -> workflow.ActivityHandle[Any]:
        self._in_task(input.activity)  # runs begun before v1.2 write through a local activity
        return self.next.start_local_activity(input)

    def _in_task(self, activity_type: str) -> None:
        if activity_type == RECORD_EVENTS and not workflow.unsafe.is_replaying():
            with workflow.unsafe.sandbox_unrestricted():
                self.faults.hit("workflow_task.kill")
                self.faults.hit("workflow_task.fail")
