"""Workflows: deterministic, domain only, no I/O."""

from workflows.inputs import SEARCH_ATTRIBUTES, ProjectInput, workflow_id
from workflows.project import ProjectWorkflow

__all__ = ["SEARCH_ATTRIBUTES", "ProjectInput", "ProjectWorkflow", "workflow_id"]
