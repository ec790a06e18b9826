"""Who may see and do what. Every use case asks here; a project one may not see is not found."""

from __future__ import annotations

from typing import Any

from domain import Actor, Forbidden, NotFound


def may_see(actor: Actor, project: dict[str, Any]) -> bool:
    return actor.role == "auditor" or project["lead"] == actor.org or actor.org in project["partners"]


def check_may_see(actor: Actor, project: dict[str, Any] | None, project_id: str) -> dict[str, Any]:
    if project is None or not may_see(actor, project):
        raise NotFound(f"There is no project '{project_id}' that you may see.")
    return project


def may_verify(actor: Actor, project: dict[str, Any]) -> bool:
    """Auditors, and the lead organisation (its own trail)."""
    return actor.role == "auditor" or project["lead"] == actor.org


def check_may_verify(actor: Actor, project: dict[str, Any]) -> None:
    if not may_verify(actor, project):
        raise NotFound(f"There is no project '{project['id']}' whose trail you may verify.")


OPERATOR_USER = "operator"  # the CLI without --as: whoever runs it on the server


def check_may_operate(actor: Actor, project: dict[str, Any]) -> None:
    """Mending a project's plumbing (retrying a refused write): the operator or the lead's coordinators."""
    if actor.user != OPERATOR_USER and not (actor.role == "coordinator" and project["lead"] == actor.org):
        raise Forbidden("Only an operator or a coordinator of the lead organisation can retry a project's writes.")


def may_change(actor: Actor, project: dict[str, Any]) -> bool:
    """Changes to a running project: coordinators of the lead organisation."""
    return actor.role == "coordinator" and project["lead"] == actor.org


def check_may_change(actor: Actor, project: dict[str, Any]) -> None:
    if not may_change(actor, project):
        raise Forbidden(f"Only a coordinator of the lead organisation ({project['lead']}) can change this project.")


def check_may_start(actor: Actor) -> None:
    if actor.role != "coordinator":
        raise Forbidden("Only coordinators can start projects; you are signed in as "
                        f"{actor.role} of {actor.org}.")
