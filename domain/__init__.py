"""The pure domain of coopflow: templates, project state, commands, events. No I/O."""

from domain.chain import verify_chain
from domain.checks import check_parameters, check_partners
from domain.decide import decide, next_wake
from domain.durations import Duration, parse_duration
from domain.errors import (
    DomainError,
    Forbidden,
    InvalidData,
    InvalidRequest,
    NotAssigned,
    NotErasable,
    NotFound,
    TaskClosed,
    TemplateError,
    error_from_code,
)
from domain.evolve import EVENT_TYPES, evolve, fold, started_state
from domain.forms import validate_form
from domain.model import (
    ZERO_HASH,
    Actor,
    ChangeProject,
    Command,
    CompleteTask,
    ErasePersonalData,
    Event,
    HoldTask,
    ProjectState,
    RequestExtension,
    Role,
    StartProject,
    TaskState,
    Tick,
    canonical_json,
    chain_hash,
    format_time,
    parse_time,
)
from domain.template import Template
from domain.template_checks import parse_template
from domain.views import holder_of, project_view, summary_view, task_view

__all__ = [
    "EVENT_TYPES",
    "ZERO_HASH",
    "Actor",
    "ChangeProject",
    "Command",
    "CompleteTask",
    "DomainError",
    "Duration",
    "ErasePersonalData",
    "Event",
    "Forbidden",
    "HoldTask",
    "InvalidData",
    "InvalidRequest",
    "NotAssigned",
    "NotErasable",
    "NotFound",
    "ProjectState",
    "RequestExtension",
    "Role",
    "StartProject",
    "TaskClosed",
    "TaskState",
    "Template",
    "TemplateError",
    "Tick",
    "canonical_json",
    "chain_hash",
    "check_parameters",
    "check_partners",
    "decide",
    "error_from_code",
    "evolve",
    "fold",
    "format_time",
    "holder_of",
    "next_wake",
    "parse_duration",
    "parse_template",
    "parse_time",
    "project_view",
    "started_state",
    "summary_view",
    "task_view",
    "validate_form",
    "verify_chain",
]
