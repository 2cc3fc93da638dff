"""The rows of the to-do lists (待办 / 可认领 / 已办 / 抄送): the views and their filters, one list line
(`TaskRow`) and one page of them (`Page`), the due badge (red overdue, yellow nearly due) and the builders
that turn a task or a copy, joined with its case and people, into a row. No queries are run here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

from app.models import Case, HumanTask, TaskCopy
from app.services.proxies import ON_BEHALF
from app.services.runtime import working_calendar

View = Literal["todo", "claimable", "done", "cc"]
DueState = Literal["ok", "warning", "overdue"]
VIEWS: tuple[str, ...] = ("todo", "claimable", "done", "cc")
DUE_STATES: tuple[str, ...] = ("ok", "warning", "overdue")
WARNING_RATIO = 0.8
MAX_PER_PAGE = 100
T = TypeVar("T")


@dataclass(frozen=True)
class TaskFilters:
    """Optional list filters; `q` matches the case number or title."""

    process_id: str | None = None
    item_code: str | None = None
    department: str | None = None
    due_state: DueState | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str | None = None


@dataclass(frozen=True)
class TaskRow:
    """One line of a to-do list."""

    task_id: int | None
    case_id: int
    case_number: str
    title: str
    step_name: str
    state: str | None
    applicant: str | None
    received: datetime
    due_at: datetime | None
    working_days_left: int | None
    badge: str
    urgency: str | None
    assignee: str | None
    on_behalf_of_id: int | None = None
    delegated: bool = False
    completed_at: datetime | None = None
    decision: str | None = None
    copy_id: int | None = None
    read: bool | None = None
    note: str | None = None
    withdrawable: bool = False  # 已办: my completion may still be withdrawn (撤回)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results with the total count."""

    items: list[T]
    page: int
    per_page: int
    total: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, -(-self.total // self.per_page))


def due_badge(created_at: datetime, due_at: datetime | None, moment: datetime) -> tuple[str, int | None]:
    """(badge, working days left) per DESIGN §4: red overdue; yellow ≥ 80 % used or ≤ 1 working day left."""
    if due_at is None:
        return "green", None
    cal = working_calendar()
    today, due_day = cal.local_date(moment), cal.local_date(due_at)
    left = cal.working_days_between(today, due_day)
    if moment > due_at:
        return "red", left
    limit = cal.working_days_between(cal.local_date(created_at), due_day)
    used = cal.working_days_between(cal.local_date(created_at), today)
    if left <= 1 or (limit > 0 and used >= WARNING_RATIO * limit):
        return "yellow", left
    return "green", left


def task_row(
    task: HumanTask, case: Case, applicant: str | None, assignee: str | None, now: datetime
) -> TaskRow:
    moment = task.completed_at if task.state != "open" and task.completed_at else now
    badge, left = due_badge(task.created_at, task.due_at, moment)
    principal = task.properties.get(ON_BEHALF)
    return TaskRow(
        task_id=task.id,
        case_id=case.id,
        case_number=case.number,
        title=case.title,
        step_name=task.name,
        state=task.state,
        applicant=applicant,
        received=task.created_at,
        due_at=task.due_at,
        working_days_left=left,
        badge=badge,
        urgency=_urgency(case),
        assignee=assignee,
        on_behalf_of_id=int(principal) if principal else None,
        delegated=task.owner_id is not None,
        completed_at=task.completed_at,
        decision=task.decision,
    )


def copy_row(
    copy: TaskCopy, case: Case, applicant: str | None, task: HumanTask | None, now: datetime
) -> TaskRow:
    badge, left = due_badge(task.created_at, task.due_at, now) if task else ("green", None)
    return TaskRow(
        task_id=task.id if task else None,
        case_id=case.id,
        case_number=case.number,
        title=case.title,
        step_name=task.name if task else "",
        state=task.state if task else None,
        applicant=applicant,
        received=copy.created_at,
        due_at=task.due_at if task else None,
        working_days_left=left,
        badge=badge,
        urgency=_urgency(case),
        assignee=None,
        copy_id=copy.id,
        read=copy.read_at is not None,
        note=copy.note,
    )


def _urgency(case: Case) -> str | None:
    value = (case.data or {}).get("urgency")
    return str(value) if value is not None else None
