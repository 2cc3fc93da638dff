"""Who may act on what: lanes and properties resolved to candidates, and object-level checks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.models import Case, HumanTask, User

_PLACEHOLDER = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}$")
OVERSIGHT_ROLES = frozenset({"supervisor", "admin"})


@dataclass(frozen=True)
class Candidates:
    """Who a new task is offered to: a role, optionally limited to a department, or one user."""

    role: str | None
    department: str | None
    applicant: bool = False


def data_key(value: str | None) -> str | None:
    """The task-data key a `{key}` value names (None for a literal or nothing)."""
    match = _PLACEHOLDER.match(value.strip()) if value else None
    return match.group(1) if match else None


def _resolve(value: str | None, data: Mapping[str, Any]) -> str | None:
    """`{key}` takes the value from task data; anything else is literal."""
    if not value:
        return None
    key = data_key(value)
    if key is not None:
        found = data.get(key)
        return str(found) if found not in (None, "") else None
    return value.strip()


def split_lane(lane: str | None) -> tuple[str | None, str | None]:
    """A lane name's role and department parts: `approver@{dept}` -> ("approver", "{dept}")."""
    role_part, _, dept_part = (lane or "").strip().partition("@")
    return role_part.strip() or None, dept_part.strip() or None


def candidates_for(lane: str | None, properties: Mapping[str, str], data: Mapping[str, Any]) -> Candidates:
    """Resolve a lane like `approver@market` / `approver@{dept}` plus candidate properties."""
    role, dept_part = split_lane(lane)
    department = _resolve(dept_part, data)
    role = _resolve(properties.get("candidateGroups"), data) or role
    department = _resolve(properties.get("candidateDepartments"), data) or department
    return Candidates(role=role, department=department, applicant=role == "applicant")


def may_act(user: User, task: HumanTask) -> bool:
    """Whether `user` may work on `task` now (assignee, or a candidate of an unassigned task)."""
    if task.assignee_id is not None:
        return task.assignee_id == user.id
    if task.candidate_role is None:
        return False
    return user.has_role(task.candidate_role, task.candidate_department)


def may_view_case(user: User, case: Case, participant_ids: set[int]) -> bool:
    """Participants, the originator, oversight roles and heads of involved departments may see a case."""
    if case.originator_id == user.id or user.id in participant_ids:
        return True
    return bool(user.role_codes() & OVERSIGHT_ROLES)
