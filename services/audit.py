"""The auditor's tools: verification anchored to the project, against Temporal, from a file; exports."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowQueryFailedError
from temporalio.service import RPCError

from activities.contracts import RECORD_EVENTS, RecordEvents
from domain import CompleteTask, InvalidRequest, verify_chain
from workflows import ProjectWorkflow, workflow_id

CSV_COLUMNS = ["seq", "type", "at", "actor_user", "actor_email", "actor_org", "actor_role", "phase", "step",
               "task_id", "data", "prev_hash", "hash"]


def verify_anchored(events: Iterable[dict[str, Any]], project: dict[str, Any]) -> dict[str, Any]:
    """The chain check, plus its end against the seq and head the project recorded with each write.

    A chain alone cannot tell that its last events were removed, or that events were appended
    and hashed by someone who knows the algorithm; the project row written in the same
    transaction can.
    """
    records = list(events)
    result = verify_chain(records)
    last_seq = records[-1].get("seq", 0) if records else 0
    last_seq = last_seq if isinstance(last_seq, int) else 0
    if last_seq < project["seq"]:
        for seq in range(last_seq + 1, project["seq"] + 1):
            result["problems"].append({"seq": seq, "reason": "missing: the project recorded it, the trail lacks it"})
    elif last_seq > project["seq"]:
        for seq in range(project["seq"] + 1, last_seq + 1):
            result["problems"].append({"seq": seq, "reason": "inserted: after the last event the project recorded"})
    elif records and result["head"] != project["head"]:
        result["problems"].append({"seq": project["seq"], "reason": "changed: the last event is not the one "
                                   "the project recorded as its head"})
    result["ok"] = not result["problems"]
    return result


def read_export(path: Path) -> Iterator[dict[str, Any]]:
    """Events from a JSONL export, one per line; a broken line is reported with its number."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidRequest(f"{path}, line {number}: not a JSON event ({exc.msg}).") from None
            if not isinstance(event, dict):
                raise InvalidRequest(f"{path}, line {number}: not a JSON object.")
            yield event


def write_jsonl(events: Iterable[dict[str, Any]], out: IO[str]) -> int:
    count = 0
    for event in events:
        out.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")
        count += 1
    return count


def write_csv(events: Iterable[dict[str, Any]], out: IO[str], emails: dict[str, str]) -> int:
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    count = 0
    for e in events:
        actor = e["actor"] or {}
        writer.writerow({
            **{k: e[k] for k in ("seq", "type", "at", "phase", "step", "task_id", "prev_hash", "hash")},
            "actor_user": actor.get("user"), "actor_email": emails.get(actor.get("user", ""), ""),
            "actor_org": actor.get("org"), "actor_role": actor.get("role"),
            "data": json.dumps(e["data"], ensure_ascii=False, sort_keys=True)})
        count += 1
    return count


async def compare_with_history(client: Client, project_id: str, stored: list[dict[str, Any]]) -> dict[str, Any]:
    """Compare the stored events with what Temporal recorded, in both directions.

    Temporal's record is the input of every ``record_events`` activity in the histories of all
    the workflow's runs (an event is in a history before it is written), plus what the running
    workflow holds and has not yet handed to a write. A seq on one side only, or different on
    the two, is a problem: the store is behind (a write pending or refused), ahead (an event
    the workflow never recorded), or changed.
    """
    runs = [run async for run in client.list_workflows(f"WorkflowId = '{workflow_id(project_id)}'")]
    if not runs:
        return {"available": False, "problems": [], "reason": "Temporal no longer has this workflow's "
                "history (retention); the audit store is the record."}
    recorded: dict[int, dict[str, Any]] = {}
    problems: list[dict[str, Any]] = []
    succeeded: list[dict[str, Any]] = []
    legacy_runs = 0  # runs from before v1.2 wrote through a local activity: their events are not in the history
    for run in runs:
        history = await client.get_workflow_handle(run.id, run_id=run.run_id).fetch_history()
        found, updates = await _recorded_events(client, history.events)
        legacy_runs += any(e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
                           and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
                           for e in history.events)
        for event in found:
            if recorded.setdefault(event["seq"], event) != event:
                problems.append({"seq": event["seq"], "reason": "Temporal recorded two different events at this seq"})
        succeeded += updates
    progress: dict[str, Any] | None = None
    newest = max(runs, key=lambda r: r.start_time)
    if newest.status == WorkflowExecutionStatus.RUNNING:
        handle = client.get_workflow_handle(newest.id, run_id=newest.run_id)
        try:
            for held in await handle.query(ProjectWorkflow.get_events, rpc_timeout=timedelta(seconds=5)):
                recorded.setdefault(held.seq, held.model_dump(mode="json"))
            progress = await handle.query(ProjectWorkflow.get_progress, rpc_timeout=timedelta(seconds=5))
        except (RPCError, WorkflowQueryFailedError):
            pass  # no worker answers: the histories alone are compared
    by_seq = {e["seq"]: e for e in stored}
    incident = (progress or {}).get("incident")
    for seq, event in sorted(recorded.items()):
        if seq not in by_seq:
            why = (f"the store refused it (incident since {incident['since']})" if incident and seq >= incident["seq"]
                   else "its write is still pending" if progress and seq > progress["written"] else "it is lost")
            problems.append({"seq": seq, "reason": f"missing from the store: the workflow recorded it; {why}"})
        elif by_seq[seq] != event:
            problems.append({"seq": seq, "reason": "differs from the event the workflow recorded"})
    complete = legacy_runs == 0 or (legacy_runs == 1 and progress is not None)
    if complete:
        problems += [{"seq": seq, "reason": "in the store, but the workflow never recorded it"}
                     for seq in sorted(by_seq) if seq not in recorded]
    completions = {(e["task_id"], e["actor"]["user"]) for e in stored
                   if e["type"] in ("StepCompleted", "DecisionRecorded") and e["actor"]}
    for arg in succeeded:
        if (arg["task_id"], arg["actor"]["user"]) not in completions:
            problems.append({"seq": None, "reason": f"the history completed task {arg['task_id']} for user "
                             f"{arg['actor']['user']}; the trail has no such completion"})
    problems.sort(key=lambda p: (p["seq"] is None, p["seq"] or 0))
    result = {"available": True, "held": len(recorded), "updates": len(succeeded), "problems": problems}
    if not complete:
        result["reason"] = ("Some runs of this workflow wrote through a local activity (before v1.2), so their "
                            "events are not in Temporal's history; only what the histories hold was compared.")
    return result


async def _recorded_events(client: Client, events: Iterable[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The events handed to ``record_events`` in one run's history, and its successful completions."""
    found: list[dict[str, Any]] = []
    accepted: dict[str, dict[str, Any]] = {}
    succeeded: list[dict[str, Any]] = []
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attributes = event.activity_task_scheduled_event_attributes
            if attributes.activity_type.name == RECORD_EVENTS:
                (batch,) = await client.data_converter.decode(attributes.input.payloads, [RecordEvents])
                found += [e.model_dump(mode="json") for e in batch.events]
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            request = event.workflow_execution_update_accepted_event_attributes.accepted_request
            if request.input.name == "complete_task":
                (command,) = await client.data_converter.decode(request.input.args.payloads, [CompleteTask])
                accepted[request.meta.update_id] = command.model_dump(mode="json")
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            done = event.workflow_execution_update_completed_event_attributes
            if done.meta.update_id in accepted and done.outcome.HasField("success"):
                succeeded.append(accepted[done.meta.update_id])
    return found, succeeded
