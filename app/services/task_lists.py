"""To-do lists (待办 / 可认领 / 已办 / 抄送): one query per page, joined with the case and the people."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import Select, and_, false, func, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.util import find_tables

from app.models import Case, HumanTask, ProcessVersion, ProxyRule, ServiceItem, TaskCopy, User
from app.services.errors import InvalidInput
from app.services.proxies import ON_BEHALF, ActiveRule, active_rules
from app.services.runtime import working_calendar

View = Literal["todo", "claimable", "done", "cc"]
DueState = Literal["ok", "warning", "overdue"]
VIEWS: tuple[str, ...] = ("todo", "claimable", "done", "cc")
DUE_STATES: tuple[str, ...] = ("ok", "warning", "overdue")
WARNING_RATIO = 0.8
MAX_PER_PAGE = 100
MAX_SCAN = 2000  # rows scanned when the due-state filter must be computed in Python
T = TypeVar("T")

Originator = aliased(User, name="originator")
Assignee = aliased(User, name="assignee")


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


def _local_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=working_calendar().tz)


def _todo_condition(
    session: Session, actor: User, now: datetime, rules: list[ActiveRule] | None = None
) -> ColumnElement[bool]:
    """Assigned to me; to a principal I stand in for now; or moved from me to my substitute."""
    parts: list[ColumnElement[bool]] = [HumanTask.assignee_id == actor.id]
    for rule in active_rules(session, now) if rules is None else rules:
        if rule.substitute_id != actor.id:
            continue
        if rule.process_id is None:
            parts.append(HumanTask.assignee_id == rule.principal_id)
        else:
            parts.append(
                and_(HumanTask.assignee_id == rule.principal_id, ProcessVersion.process_id == rule.process_id)
            )
    substitutes = list(
        session.scalars(select(ProxyRule.substitute_id).where(ProxyRule.principal_id == actor.id))
    )
    if substitutes:
        parts.append(
            and_(
                HumanTask.assignee_id.in_(sorted(set(substitutes))),
                HumanTask.properties[ON_BEHALF].as_string() == str(actor.id),
            )
        )
    return and_(HumanTask.state == "open", or_(*parts))


def _claimable_condition(actor: User) -> ColumnElement[bool]:
    parts = [
        and_(
            HumanTask.candidate_role == m.role.code,
            or_(HumanTask.candidate_department.is_(None), HumanTask.candidate_department == m.department_code)
            if m.department_code
            else HumanTask.candidate_department.is_(None),
        )
        for m in actor.memberships
        if m.role.code != "applicant"
    ]
    if not parts:
        return false()
    return and_(HumanTask.state == "open", HumanTask.assignee_id.is_(None), or_(*parts))


def _task_query(session: Session, view: View, actor: User, now: datetime) -> Select[Any]:
    query = (
        select(HumanTask, Case, Originator.display_name, Assignee.display_name)
        .join(Case, Case.id == HumanTask.case_id)
        .join(ProcessVersion, ProcessVersion.id == Case.process_version_id)
        .outerjoin(Originator, Originator.id == Case.originator_id)
        .outerjoin(Assignee, Assignee.id == HumanTask.assignee_id)
    )
    if view == "todo":
        return query.where(_todo_condition(session, actor, now))
    if view == "claimable":
        return query.where(_claimable_condition(actor))
    return query.where(HumanTask.completed_by_id == actor.id)


def _copy_query() -> Select[Any]:
    return (
        select(TaskCopy, Case, Originator.display_name, HumanTask)
        .join(Case, Case.id == TaskCopy.case_id)
        .join(ProcessVersion, ProcessVersion.id == Case.process_version_id)
        .outerjoin(Originator, Originator.id == Case.originator_id)
        .outerjoin(HumanTask, HumanTask.id == TaskCopy.human_task_id)
    )


def _filtered(query: Select[Any], view: View, filters: TaskFilters, now: datetime) -> Select[Any]:
    received: Any = TaskCopy.created_at if view == "cc" else HumanTask.created_at
    if view == "done":
        received = HumanTask.completed_at
    if filters.process_id:
        query = query.where(ProcessVersion.process_id == filters.process_id)
    if filters.item_code:
        query = query.join(ServiceItem, ServiceItem.id == Case.service_item_id).where(
            ServiceItem.code == filters.item_code
        )
    if filters.department:
        query = query.where(HumanTask.candidate_department == filters.department)
    if filters.date_from:
        query = query.where(received >= _local_start(filters.date_from))
    if filters.date_to:
        query = query.where(received < _local_start(filters.date_to + timedelta(days=1)))
    if filters.q and filters.q.strip():
        needle = "%" + filters.q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(Case.number.ilike(needle, escape="\\"), Case.title.ilike(needle, escape="\\"))
        )
    if filters.due_state == "overdue":
        query = query.where(HumanTask.due_at < now)
    elif filters.due_state in ("ok", "warning"):
        query = query.where(or_(HumanTask.due_at.is_(None), HumanTask.due_at >= now))
    return query


def _task_row(
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


def _copy_row(
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


def _ordered(query: Select[Any], view: View) -> Select[Any]:
    if view == "cc":
        return query.order_by(TaskCopy.read_at.is_not(None), TaskCopy.created_at.desc(), TaskCopy.id.desc())
    if view == "done":
        return query.order_by(HumanTask.completed_at.desc(), HumanTask.id.desc())
    return query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id)


def list_tasks(
    session: Session,
    actor: User,
    view: str,
    filters: TaskFilters,
    page: int,
    per_page: int,
    now: datetime,
) -> Page[TaskRow]:
    """One page of a to-do list view, most urgent first (due_at, nulls last)."""
    if view not in VIEWS:
        raise InvalidInput("未知列表 (unknown view)", {"view": list(VIEWS)})
    if filters.due_state is not None and filters.due_state not in DUE_STATES:
        raise InvalidInput("未知时限状态", {"due_state": list(DUE_STATES)})
    page, per_page = max(1, page), min(max(1, per_page), MAX_PER_PAGE)
    the_view: View = view  # type: ignore[assignment]
    base = (
        _copy_query().where(TaskCopy.user_id == actor.id)
        if view == "cc"
        else _task_query(session, the_view, actor, now)
    )
    query = _ordered(_filtered(base, the_view, filters, now), the_view)
    make: Any = _copy_row if view == "cc" else _task_row
    if filters.due_state in ("ok", "warning"):  # the 80 % rule needs working days: computed per row
        wanted = "green" if filters.due_state == "ok" else "yellow"
        rows = [
            r
            for r in (make(*row, now) for row in session.execute(query.limit(MAX_SCAN)))
            if r.badge == wanted
        ]
        return Page(rows[(page - 1) * per_page : page * per_page], page, per_page, len(rows))
    if view != "cc" and _only_tasks(query):
        return _task_page(session, query, the_view, page, per_page, now)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    result = session.execute(query.limit(per_page).offset((page - 1) * per_page))
    return Page([make(*row, now) for row in result], page, per_page, total)


def _only_tasks(query: Select[Any]) -> bool:
    """Whether the query's conditions name no table but human_task (no process, item or text filter)."""
    where = query.whereclause
    return where is not None and {t.name for t in find_tables(where, check_columns=True)} == {
        HumanTask.__tablename__
    }


def _task_page(
    session: Session, query: Select[Any], view: View, page: int, per_page: int, now: datetime
) -> Page[TaskRow]:
    """Count and page on human_task alone, then join the page's rows to the case and the people.

    Same rows as the joined query: every task has exactly one case and version (non-null foreign keys)
    and the people are outer joins on primary keys. Without this, PostgreSQL plans the joins for every
    matching task (tens of thousands for a big department) before it sorts and cuts the page.
    """
    tasks = select(HumanTask.id).where(query.whereclause)  # type: ignore[arg-type]
    total = session.scalar(select(func.count()).select_from(tasks.subquery())) or 0
    page_ids = _ordered(tasks, view).limit(per_page).offset((page - 1) * per_page).subquery()
    result = session.execute(query.join(page_ids, page_ids.c.id == HumanTask.id))
    make: Any = _task_row
    return Page([make(*row, now) for row in result], page, per_page, total)


def _count(condition: ColumnElement[bool], needs_process: bool) -> Any:
    """count(*) of the tasks matching `condition`; the joins of `_task_query` cannot change the count
    (case_id and process_version_id are non-null foreign keys, the people are outer joins), so they are
    left out unless the condition names the process."""
    query = select(func.count(HumanTask.id)).where(condition)
    if needs_process:
        query = query.join(Case, Case.id == HumanTask.case_id).join(
            ProcessVersion, ProcessVersion.id == Case.process_version_id
        )
    return query.scalar_subquery()


def count_tasks(session: Session, actor: User, now: datetime) -> dict[str, int]:
    """Counts for the navigation: open to-dos, claimable, done, unread copies — in one statement."""
    rules = active_rules(session, now)
    by_process = any(r.substitute_id == actor.id and r.process_id for r in rules)
    unread = select(func.count(TaskCopy.id)).where(TaskCopy.user_id == actor.id, TaskCopy.read_at.is_(None))
    row = session.execute(
        select(
            _count(_todo_condition(session, actor, now, rules), by_process),
            _count(_claimable_condition(actor), False),
            _count(HumanTask.completed_by_id == actor.id, False),
            unread.scalar_subquery(),
        )
    ).one()
    return {
        view: int(value or 0) for view, value in zip(("todo", "claimable", "done", "cc"), row, strict=True)
    }


def principal_names(session: Session, rows: Sequence[TaskRow]) -> dict[int, str]:
    """Display names of the principals rows are handled on behalf of (one query)."""
    ids = sorted({r.on_behalf_of_id for r in rows if r.on_behalf_of_id})
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).tuples().all())
