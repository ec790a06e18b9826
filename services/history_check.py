"""The audit store against what Temporal recorded (``coopflow audit verify --against-history``).

Each run of a project's workflow covers a range of seqs: from the state it was started with (none for
the first run; continue-as-new carries it) to the state it handed on (its continue-as-new event), or
on for the last run. An event is compared only where a history that holds it can be read: a run the
namespace's retention has deleted, or one from before v1.2 that wrote through a local activity
(whose input no history keeps), cannot say the workflow never recorded an event. Those seqs are
named as not compared, never reported as a disagreement.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from activities.contracts import RECORD_EVENTS, RecordEvents
from domain import CompleteTask
from workflows import ProjectInput, ProjectWorkflow, workflow_id

DELETED = "their run is no longer kept by Temporal (retention)"
LEGACY = "written by a run from before v1.2 through a local activity, which Temporal's history does not hold"
GONE = "Temporal no longer has this workflow's history (retention); the audit store is the record."


@dataclass
class Run:
    """What one readable run of the workflow recorded, and the seqs it covers: ``after`` < seq ≤ ``until``."""

    run_id: str
    after: int = 0
    until: int | None = None  # None: the last run, which covers every later seq
    legacy: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)

    def covers(self, seq: int) -> bool:
        return self.after < seq and (self.until is None or seq <= self.until)


async def compare_with_history(client: Client, project_id: str, stored: list[dict[str, Any]]) -> dict[str, Any]:
    """Compare the stored events with what Temporal recorded, in both directions.

    Temporal's record is the input of every ``record_events`` activity in the histories of the
    workflow's runs (an event is in a history before it is written), plus what the running
    workflow holds. A seq on one side only, or different on the two, is a problem: the store is
    behind (a write pending or refused), ahead (an event the workflow never recorded), or changed.
    """
    listed = [run async for run in client.list_workflows(f"WorkflowId = '{workflow_id(project_id)}'")]
    runs = [run for run in [await _read_run(client, listed_run) for listed_run in listed] if run is not None]
    by_seq = {e["seq"]: e for e in stored}
    if not runs:
        return {"available": False, "problems": [], "reason": GONE,
                "not_compared": _ranges((seq, DELETED) for seq in sorted(by_seq))}
    recorded: dict[int, dict[str, Any]] = {}
    problems: list[dict[str, Any]] = []
    for run in runs:
        for event in run.events:
            if recorded.setdefault(event["seq"], event) != event:
                problems.append({"seq": event["seq"], "reason": "Temporal recorded two different events at this seq"})
    live, progress = await _ask_running(client, listed, recorded)
    problems += _store_behind_or_changed(recorded, by_seq, progress)
    unseen = [(seq, _why_not_compared(seq, runs, live)) for seq in sorted(by_seq)]
    problems += [{"seq": seq, "reason": "in the store, but the workflow never recorded it"}
                 for seq, why in unseen if why is None and seq not in recorded]
    succeeded = [update for run in runs for update in run.updates]
    problems += _completions_missing(stored, succeeded)
    problems.sort(key=lambda p: (p["seq"] is None, p["seq"] or 0))
    return {"available": True, "held": len(recorded), "updates": len(succeeded), "problems": problems,
            "not_compared": _ranges((seq, why) for seq, why in unseen if why is not None)}


async def _read_run(client: Client, listed: WorkflowExecution) -> Run | None:
    """One run's record from its history; None when Temporal no longer has it (deleted by retention)."""
    try:
        history = await client.get_workflow_handle(listed.id, run_id=listed.run_id).fetch_history()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    run = Run(listed.run_id)
    accepted: dict[str, dict[str, Any]] = {}
    for event in history.events:
        await _read_event(client, event, run, accepted)
    return run


async def _read_event(client: Client, event: HistoryEvent, run: Run, accepted: dict[str, dict[str, Any]]) -> None:
    """Fold one history event into the run's record: its seq range, its writes, its completions."""
    kind = event.event_type
    if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        run.after = await _state_seq(client, event.workflow_execution_started_event_attributes.input.payloads)
    elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
        run.until = await _state_seq(client, event.workflow_execution_continued_as_new_event_attributes.input.payloads)
    elif kind == EventType.EVENT_TYPE_MARKER_RECORDED:
        run.legacy |= event.marker_recorded_event_attributes.marker_name == "core_local_activity"
    elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        attributes = event.activity_task_scheduled_event_attributes
        if attributes.activity_type.name == RECORD_EVENTS:
            (batch,) = await client.data_converter.decode(attributes.input.payloads, [RecordEvents])
            run.events += [e.model_dump(mode="json") for e in batch.events]
    elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        request = event.workflow_execution_update_accepted_event_attributes.accepted_request
        if request.input.name == "complete_task":
            (command,) = await client.data_converter.decode(request.input.args.payloads, [CompleteTask])
            accepted[request.meta.update_id] = command.model_dump(mode="json")
    elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
        done = event.workflow_execution_update_completed_event_attributes
        if done.meta.update_id in accepted and done.outcome.HasField("success"):
            run.updates.append(accepted[done.meta.update_id])


async def _state_seq(client: Client, payloads: Iterable[Any]) -> int:
    """The seq of the state a run was started with or handed on (0: a project's first run)."""
    (carried,) = await client.data_converter.decode(list(payloads), [ProjectInput])
    return carried.state.seq if carried.state is not None else 0


async def _ask_running(client: Client, listed: list[WorkflowExecution], recorded: dict[int, dict[str, Any]]
                       ) -> tuple[str | None, dict[str, Any] | None]:
    """Add what the running run holds to ``recorded``; returns that run's id and progress when it answered."""
    newest = max(listed, key=lambda r: r.start_time)
    if newest.status != WorkflowExecutionStatus.RUNNING:
        return None, None
    handle = client.get_workflow_handle(newest.id, run_id=newest.run_id)
    try:
        held = await handle.query(ProjectWorkflow.get_events, rpc_timeout=timedelta(seconds=5))
        progress = await handle.query(ProjectWorkflow.get_progress, rpc_timeout=timedelta(seconds=5))
    except (RPCError, WorkflowQueryFailedError):
        return None, None  # no worker answers: the histories alone are compared
    for event in held:
        recorded.setdefault(event.seq, event.model_dump(mode="json"))
    return newest.run_id, progress


def _why_not_compared(seq: int, runs: list[Run], live: str | None) -> str | None:
    """None when a readable record covers ``seq``; otherwise why it cannot be compared."""
    run = next((r for r in runs if r.covers(seq)), None)
    if run is None:
        return DELETED
    if run.legacy and run.run_id != live:  # a legacy run that answered holds all its events
        return LEGACY
    return None


def _store_behind_or_changed(recorded: dict[int, dict[str, Any]], by_seq: dict[int, dict[str, Any]],
                             progress: dict[str, Any] | None) -> list[dict[str, Any]]:
    problems = []
    incident = (progress or {}).get("incident")
    for seq, event in sorted(recorded.items()):
        if seq not in by_seq:
            why = (f"the store refused it (incident since {incident['since']})" if incident and seq >= incident["seq"]
                   else "its write is still pending" if progress and seq > progress["written"] else "it is lost")
            problems.append({"seq": seq, "reason": f"missing from the store: the workflow recorded it; {why}"})
        elif by_seq[seq] != event:
            problems.append({"seq": seq, "reason": "differs from the event the workflow recorded"})
    return problems


def _completions_missing(stored: list[dict[str, Any]], succeeded: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A completion the history accepted and answered that the trail lacks."""
    completions = {(e["task_id"], e["actor"]["user"]) for e in stored
                   if e["type"] in ("StepCompleted", "DecisionRecorded") and e["actor"]}
    return [{"seq": None, "reason": f"the history completed task {arg['task_id']} for user {arg['actor']['user']}; "
             "the trail has no such completion"}
            for arg in succeeded if (arg["task_id"], arg["actor"]["user"]) not in completions]


def _ranges(seqs: Iterable[tuple[int, str]]) -> list[dict[str, Any]]:
    """Consecutive seqs with one reason, as ``{"from", "to", "reason"}``."""
    found: list[dict[str, Any]] = []
    for seq, why in seqs:
        if found and found[-1]["to"] == seq - 1 and found[-1]["reason"] == why:
            found[-1]["to"] = seq
        else:
            found.append({"from": seq, "to": seq, "reason": why})
    return found

