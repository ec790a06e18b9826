"""The auditor's tools: verification anchored to the project, against Temporal, from a file; exports."""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from domain import InvalidRequest, verify_chain
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
    """Compare the stored events with the events the workflow holds and with the updates in its history."""
    handle = client.get_workflow_handle(workflow_id(project_id))
    try:
        held = [e.model_dump(mode="json") for e in await handle.query(ProjectWorkflow.get_events)]
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return {"available": False, "problems": [], "reason": "Temporal no longer has this workflow's "
                    "history (retention); the audit store is the record."}
        raise
    by_seq = {e["seq"]: e for e in stored}
    problems = [{"seq": e["seq"], "reason": "differs from the event the workflow holds"}
                for e in held if by_seq.get(e["seq"]) != e]
    completions = {(e["task_id"], e["actor"]["user"]) for e in stored
                   if e["type"] in ("StepCompleted", "DecisionRecorded") and e["actor"]}
    succeeded = [arg async for arg in _completed_updates(client, project_id)]
    for arg in succeeded:
        if (arg["task_id"], arg["actor"]["user"]) not in completions:
            problems.append({"seq": None, "reason": f"the history completed task {arg['task_id']} for user "
                             f"{arg['actor']['user']}; the trail has no such completion"})
    return {"available": True, "held": len(held), "updates": len(succeeded), "problems": problems}


async def _completed_updates(client: Client, project_id: str) -> AsyncIterator[dict[str, Any]]:
    """The argument of every complete_task update that succeeded, over all runs of the workflow."""
    async for run in client.list_workflows(f"WorkflowId = '{workflow_id(project_id)}'"):
        history = await client.get_workflow_handle(run.id, run_id=run.run_id).fetch_history()
        accepted: dict[str, dict[str, Any]] = {}
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                request = event.workflow_execution_update_accepted_event_attributes.accepted_request
                if request.input.name == "complete_task":
                    accepted[request.meta.update_id] = json.loads(request.input.args.payloads[0].data)
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
                done = event.workflow_execution_update_completed_event_attributes
                if done.meta.update_id in accepted and done.outcome.HasField("success"):
                    yield accepted[done.meta.update_id]
