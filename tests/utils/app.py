"""Drive the application layer as the demo users would."""

from __future__ import annotations

import io
from typing import Any

from domain import Actor
from services.app import Coopflow
from services.seed import demo_email
from tests.utils.scenario import next_move

LEAD = "stadt-dortmund"
PARTNERS = ["caritas-rs", "horizon-civitas-mk", "different-and-equal-al"]


def actor(app: Coopflow, org: str) -> Actor:
    return app.actor_for_email(demo_email("audit-office" if org == "auditor" else org))


async def start(app: Coopflow, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("title", "Return counselling pilot")
    kwargs.setdefault("partners", PARTNERS)
    kwargs.setdefault("parameters", {"report_count": 1})
    return await app.start_project(actor(app, LEAD), **kwargs)


async def play(app: Coopflow, project_id: str, *, loops: bool = True, until_step: str | None = None,
               max_moves: int = 500, documents: bool = False) -> list[dict[str, Any]]:
    """Complete tasks by the scripted lifecycle; returns what each completion returned. With ``documents``
    every file field gets a document, uploaded by the one who completes the task."""
    done = []
    for _ in range(max_moves):
        tasks = app.show_project(actor(app, LEAD), project_id)["tasks"]
        move = next_move(tasks, PARTNERS[0], loops)
        if move is None or move[0]["step"] == until_step:
            return done
        task, data, outcome = move
        if documents:
            data = {**(data or {}), **attach(app, project_id, task)}
        done.append(await app.complete_task(actor(app, task["assignee"]), project_id, task["id"],
                                            data=data, outcome=outcome))
    raise AssertionError("the lifecycle did not end")


def attach(app: Coopflow, project_id: str, task: dict[str, Any]) -> dict[str, Any]:
    """A small text document for each file field of the task's form, named by its sha256."""
    found = {}
    for field in (f for f in task["form"] if f["type"] == "file"):
        content = f"{field['name']} of {task['step']} ({task['id']}) in {project_id}\n".encode()
        record = app.upload_document(actor(app, task["assignee"]), project_id, io.BytesIO(content),
                                     f"{field['name']}.txt")
        found[field["name"]] = {"sha256": record["sha256"]}
    return found
