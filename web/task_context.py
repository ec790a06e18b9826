"""What a task page shows around its form: what the task is about, its earlier rounds and the decisions
that sent it back, who else owes the step, and the reason a request for more time gives."""

from __future__ import annotations

from typing import Any

from domain import Actor, DomainError, Template
from domain.checks import check_may_complete
from domain.model import TaskState


def task_context(project: dict[str, Any], task: dict[str, Any], template: Template) -> dict[str, Any]:
    """What a task is about (the submissions it comes after, or the one it reviews, or the task that asks
    for more time, and the one that named its assignee), its earlier rounds, and who else owes the same
    step."""
    tasks = project["tasks"]

    def slot(t: dict[str, Any]) -> tuple[Any, ...]:
        return t.get("on_behalf_of") or t["assignee"], t["subject_org"], t["occurrence"]

    step = template.step(task["step"])
    done = [t for t in tasks if t["status"] == "completed" and t["round"] <= task["round"]]
    if step.after_each:  # the very submission it reviews
        about = [t for t in done if t["step"] == step.after_each and slot(t)[0] == task["subject_org"]
                 and t["occurrence"] == task["occurrence"]][-1:]
    else:  # the latest completed task of each slot of the steps it comes after
        latest: dict[tuple[Any, ...], dict[str, Any]] = {}
        for t in done:
            if t["step"] in step.after:
                latest[(t["step"], *slot(t))] = t
        about = list(latest.values())
    if step.named_in:  # the completion that named its assignee (the list of tables, the referral) and what
        named_by = [t for t in tasks if t["step"] == step.named_in.step and t["status"] == "completed"][-1:]
        before = template.step(step.named_in.step).after  # it came after (the person's consent: whom it is about)
        ahead = [[t for t in tasks if t["step"] == key and t["status"] == "completed"][-1:] for key in before]
        about = [t for found in ahead for t in found] + named_by + [t for t in about if t not in named_by]
    earlier = [t for t in tasks if t["step"] == task["step"] and t["id"] != task["id"] and t["round"] < task["round"]
               and slot(t) == slot(task)]
    others = [t for t in tasks if t["step"] == task["step"] and t["id"] != task["id"] and t["status"] == "open"]
    asking = next((t for t in tasks if t["id"] == task.get("subject_task")), None)
    return {"about": about, "earlier": earlier, "others": others, "asking": asking,
            "feedback": feedback(tasks, task, template, slot(task)[0])}


def asked_reason(coopflow: Any, actor: Any, project: dict[str, Any], task: dict[str, Any]) -> str | None:
    """A decision on more time: the reason the partner gave (said in the request's event, not the task)."""
    if not task.get("subject_task"):
        return None
    asked = [e for e in coopflow.list_events(actor, project["id"], type="ExtensionRequested")
             if e["task_id"] == task["subject_task"] and e["at"] <= task["opened_at"]]
    return str(asked[-1]["data"].get("reason") or "") or None if asked else None


def feedback(tasks: list[dict[str, Any]], task: dict[str, Any], template: Template,
             org: str) -> list[dict[str, Any]]:
    """The decisions of earlier rounds on this step (a review that sent it back, a declined referral,
    the others' reviews of the same round), so that whoever redoes it reads why."""
    found = []
    for t in tasks:
        if t["status"] != "completed" or t["kind"] != "decision" or t["round"] >= task["round"]:
            continue
        step = template.step(t["step"])
        outcome = step.outcome(t["outcome"] or "")
        reopens = outcome is not None and (
            (outcome.then == "reopen" and outcome.step == task["step"])
            or (outcome.then == "reopen_subject" and step.after_each == task["step"]))
        reviews = task["step"] in step.after or step.after_each == task["step"]
        if (reopens or reviews) and (step.after_each is None or (
                t["subject_org"] == org and t["occurrence"] == task["occurrence"])):
            found.append(t)
    return found


def may_send(actor: Actor, project: dict[str, Any], task: dict[str, Any], template: Template) -> bool:
    """Whether ``actor`` may complete the task (by the domain's own rule): anyone else sees it read-only."""
    shape = TaskState.model_construct(id=task["id"], step=task["step"], assignee=task["assignee"], phase=task["phase"],
                                      kind=task["kind"], opened_at=task["opened_at"], due_at=task["due_at"])
    try:
        check_may_complete(project["partners"], shape, template.step(task["step"]), actor)
    except DomainError:
        return False
    return True
