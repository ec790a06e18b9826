"""Domain errors: each carries a stable code that the API and the CLI show."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule of the domain was broken; ``message`` is a sentence a person understands."""

    code = "invalid_request"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidRequest(DomainError):
    code = "invalid_request"


class Forbidden(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class NotAssigned(DomainError):
    code = "not_assigned"


class TaskClosed(DomainError):
    code = "task_closed"


class InvalidData(DomainError):
    code = "invalid_data"


class NotErasable(DomainError):
    """Personal data that cannot be erased without breaking the trail: a case from before sealing."""

    code = "not_erasable"


class PayloadTooLarge(DomainError):
    """A body, a document or a request larger than the part that takes it (413)."""

    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    """A body or a document of a kind this part does not take (415)."""

    code = "unsupported_media_type"


class TemplateError(DomainError):
    """A template is broken; ``problems`` are ``path: message`` lines."""

    code = "invalid_template"

    def __init__(self, problems: list[str], source: str = "template") -> None:
        self.problems = problems
        super().__init__(f"{source} is not a valid template:\n  " + "\n  ".join(problems), problems)


ERRORS: dict[str, type[DomainError]] = {
    cls.code: cls
    for cls in (InvalidRequest, Forbidden, NotFound, NotAssigned, TaskClosed, InvalidData, NotErasable,
                TemplateError)
}


def error_from_code(code: str, message: str, details: Any = None) -> DomainError:
    """Rebuild a domain error that crossed a process boundary as (code, message, details)."""
    cls = ERRORS.get(code, DomainError)
    if cls is TemplateError:
        return DomainError(message, details)
    return cls(message, details)
