"""Domain errors. The web layer maps each kind to an HTTP status; services never know HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    """Base of every error a user or designer can cause; carries a stable code and a Chinese message."""

    code = "domain_error"

    def __init__(self, message: str, details: Mapping[str, Any] | list[Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(DomainError):
    """The request is malformed or fails validation (field errors in details)."""

    code = "invalid_input"


class AuthenticationFailed(DomainError):
    """Wrong credentials or an unknown/expired token."""

    code = "authentication_failed"


class PermissionDenied(DomainError):
    """The actor may not do this to this object."""

    code = "permission_denied"


class NotFound(DomainError):
    """No such object, or the actor may not know it exists."""

    code = "not_found"


class Conflict(DomainError):
    """The object changed under the request (already handled, duplicate, stale version)."""

    code = "conflict"


class TaskAlreadyHandled(Conflict):
    """Someone else completed or moved this task first."""

    code = "task_already_handled"


class UnprocessableProcess(DomainError):
    """A process definition cannot be deployed (located messages in details)."""

    code = "process_invalid"


class WorkflowFailed(DomainError):
    """The diagram could not proceed (a condition or script failed); nothing was saved."""

    code = "workflow_error"
