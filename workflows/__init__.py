"""Workflows: deterministic, domain only, no I/O."""

from workflows.project import SEARCH_ATTRIBUTES, ProjectInput, ProjectWorkflow, workflow_id

__all__ = ["SEARCH_ATTRIBUTES", "ProjectInput", "ProjectWorkflow", "workflow_id"]
