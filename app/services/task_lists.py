"""To-do lists (待办 / 可认领 / 已办 / 抄送): one query per page, joined with the case and the people."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import reduce
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import Integer, Select, and_, bindparam, func, literal, or_, select, union_all
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.util import find_tables

from app.models import Case, HumanTask, ProcessVersion, ProxyRule, ServiceItem, TaskCopy, User
from app.services.errors import InvalidInput
from app.services.proxies import ON_BEHALF, ActiveRule
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


@dataclass(frozen=True)
class ProxyView:
    """The proxy rules (代理) that shape one actor's to-do view, read in one query.

    `acting_for`: the rules active now in which the actor is the substitute (their principals' tasks are the
    actor's to-dos). `substitutes`: the substitutes of the actor's own rules, active or not (tasks moved to
    them still show in the actor's list, marked on behalf of the actor).
    """

    acting_for: tuple[ActiveRule, ...] = ()
    substitutes: tuple[int, ...] = ()


_ACTOR_RULES = select(
    ProxyRule.principal_id,
    ProxyRule.substitute_id,
    ProxyRule.process_id,
    ProxyRule.starts_at,
    ProxyRule.ends_at,
    ProxyRule.cancelled_at,
).where(
    or_(ProxyRule.substitute_id == bindparam("actor_id"), ProxyRule.principal_id == bindparam("actor_id"))
)


def proxy_view(session: Session, actor: User, now: datetime) -> ProxyView:
    """The rules naming `actor` as substitute or principal (one query; active = not cancelled and
    starts_at <= now < ends_at, as in `proxies.active_rules`)."""
    acting_for: list[ActiveRule] = []
    substitutes: set[int] = set()
    for rule in session.execute(_ACTOR_RULES, {"actor_id": actor.id}):
        if rule.principal_id == actor.id:
            substitutes.add(rule.substitute_id)
        active = rule.cancelled_at is None and rule.starts_at <= now < rule.ends_at
        if active and rule.substitute_id == actor.id:
            acting_for.append(ActiveRule(rule.principal_id, rule.substitute_id, rule.process_id))
    return ProxyView(tuple(acting_for), tuple(sorted(substitutes)))


def _todo_condition(actor: User, proxies: ProxyView) -> ColumnElement[bool]:
    """Assigned to me; to a principal I stand in for now; or moved from me to my substitute."""
    parts: list[ColumnElement[bool]] = [HumanTask.assignee_id == actor.id]
    for rule in proxies.acting_for:
        if rule.process_id is None:
            parts.append(HumanTask.assignee_id == rule.principal_id)
        else:
            parts.append(
                and_(HumanTask.assignee_id == rule.principal_id, ProcessVersion.process_id == rule.process_id)
            )
    if proxies.substitutes:
        parts.append(
            and_(
                HumanTask.assignee_id.in_(proxies.substitutes),
                HumanTask.properties[ON_BEHALF].as_string() == str(actor.id),
            )
        )
    return and_(HumanTask.state == "open", or_(*parts))


def _claimable_pairs(actor: User) -> list[tuple[str, str]]:
    """The (role, department or "") pairs whose tasks the actor may claim.

    A membership (role R, department D) offers the open unassigned tasks of R in no department or in D;
    one without a department, those of R in no department. So the claimable view is the union of
    (R, no department) for every role held and (R, D) for every department R is held in: disjoint pairs,
    each an equality prefix of ix_human_task_claimable — counted from the index alone and read in due
    order, where one OR of them makes PostgreSQL visit every matching row in the table.
    """
    pairs: set[tuple[str, str]] = set()
    for membership in actor.memberships:
        code = membership.role.code
        if code == "applicant":
            continue
        pairs.add((code, ""))
        if membership.department_code:
            pairs.add((code, membership.department_code))
    return sorted(pairs)


@dataclass(frozen=True)
class _Branches:
    """A view (todo, claimable, done) as disjoint conditions on human_task, with their bound values.

    `shape` keys the statement cache: two actors with the same shape run the same statements with other
    values, so SQLAlchemy does not build and key them again on every request. None (a to-do list under
    proxy rules): built each time, values inline.
    """

    conditions: tuple[ColumnElement[bool], ...]
    params: dict[str, Any]
    shape: tuple[Any, ...] | None


_BRANCH_CACHE: dict[tuple[Any, ...], tuple[ColumnElement[bool], ...]] = {}
_STATEMENT_CACHE: dict[tuple[Any, ...], Any] = {}


def _shaped(shape: tuple[Any, ...]) -> tuple[ColumnElement[bool], ...]:
    """The bound conditions of a cacheable shape (built once per shape)."""
    if shape in _BRANCH_CACHE:
        return _BRANCH_CACHE[shape]
    kind = shape[0]
    built: tuple[ColumnElement[bool], ...]
    if kind == "todo":
        built = (and_(HumanTask.state == "open", HumanTask.assignee_id == bindparam("actor_id")),)
    elif kind == "done":
        built = (HumanTask.completed_by_id == bindparam("actor_id"),)
    else:
        built = tuple(
            and_(
                HumanTask.state == "open",
                HumanTask.candidate_role == bindparam(f"role_{i}"),
                HumanTask.candidate_department == bindparam(f"department_{i}")
                if in_department
                else HumanTask.candidate_department.is_(None),
                HumanTask.assignee_id.is_(None),
            )
            for i, in_department in enumerate(shape[1:])
        )
    _BRANCH_CACHE[shape] = built
    return built


def _cached(key: tuple[Any, ...], build: Any) -> Any:
    """A statement built once per key (keys are statement shapes: a handful)."""
    statement = _STATEMENT_CACHE.get(key)
    if statement is None:
        statement = _STATEMENT_CACHE[key] = build()
    return statement


def _view_branches(view: View, actor: User, proxies: ProxyView) -> _Branches:
    """Disjoint conditions on human_task whose union is the view (todo, claimable or done)."""
    if view == "todo" and (proxies.acting_for or proxies.substitutes):
        return _Branches((_todo_condition(actor, proxies),), {}, None)
    if view in ("todo", "done"):
        return _Branches(_shaped((view,)), {"actor_id": actor.id}, (view,))
    pairs = _claimable_pairs(actor)
    shape = ("claimable", *(bool(department) for _, department in pairs))
    params: dict[str, Any] = {}
    for i, (role, department) in enumerate(pairs):
        params[f"role_{i}"] = role
        if department:
            params[f"department_{i}"] = department
    return _Branches(_shaped(shape), params, shape)


def _task_query() -> Select[Any]:
    return (
        select(HumanTask, Case, Originator.display_name, Assignee.display_name)
        .join(Case, Case.id == HumanTask.case_id)
        .join(ProcessVersion, ProcessVersion.id == Case.process_version_id)
        .outerjoin(Originator, Originator.id == Case.originator_id)
        .outerjoin(Assignee, Assignee.id == HumanTask.assignee_id)
    )


def _copy_query() -> Select[Any]:
    return (
        select(TaskCopy, Case, Originator.display_name, HumanTask)
        .join(Case, Case.id == TaskCopy.case_id)
        .join(ProcessVersion, ProcessVersion.id == Case.process_version_id)
        .outerjoin(Originator, Originator.id == Case.originator_id)
        .outerjoin(HumanTask, HumanTask.id == TaskCopy.human_task_id)
    )


def _filter_conditions(view: View, filters: TaskFilters, now: datetime) -> list[ColumnElement[bool]]:
    received: Any = TaskCopy.created_at if view == "cc" else HumanTask.created_at
    if view == "done":
        received = HumanTask.completed_at
    conditions: list[ColumnElement[bool]] = []
    if filters.process_id:
        conditions.append(ProcessVersion.process_id == filters.process_id)
    if filters.item_code:
        items = select(ServiceItem.id).where(ServiceItem.code == filters.item_code)
        conditions.append(Case.service_item_id.in_(items))
    if filters.department:
        conditions.append(HumanTask.candidate_department == filters.department)
    if filters.date_from:
        conditions.append(received >= _local_start(filters.date_from))
    if filters.date_to:
        conditions.append(received < _local_start(filters.date_to + timedelta(days=1)))
    if filters.q and filters.q.strip():
        needle = "%" + filters.q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(or_(Case.number.ilike(needle, escape="\\"), Case.title.ilike(needle, escape="\\")))
    if filters.due_state == "overdue":
        conditions.append(HumanTask.due_at < now)
    elif filters.due_state in ("ok", "warning"):
        conditions.append(or_(HumanTask.due_at.is_(None), HumanTask.due_at >= now))
    return conditions


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


def _order_by(view: View) -> tuple[Any, ...]:
    if view == "cc":
        return (TaskCopy.read_at.is_not(None), TaskCopy.created_at.desc(), TaskCopy.id.desc())
    if view == "done":
        return (HumanTask.completed_at.desc(), HumanTask.id.desc())
    # most urgent first; NULLS LAST is PostgreSQL's ascending index order, so the index gives the order
    return (HumanTask.due_at.asc().nulls_last(), HumanTask.id)


def _checked(view: str, filters: TaskFilters) -> View:
    if view not in VIEWS:
        raise InvalidInput("未知列表 (unknown view)", {"view": list(VIEWS)})
    if filters.due_state is not None and filters.due_state not in DUE_STATES:
        raise InvalidInput("未知时限状态", {"due_state": list(DUE_STATES)})
    return view  # type: ignore[return-value]


def list_tasks(
    session: Session,
    actor: User,
    view: str,
    filters: TaskFilters,
    page: int,
    per_page: int,
    now: datetime,
    *,
    proxies: ProxyView | None = None,
    known_total: int | None = None,
) -> Page[TaskRow]:
    """One page of a to-do list view, most urgent first (due_at, nulls last).

    `proxies`: the actor's proxy rules when the caller has read them already. `known_total`: the view's
    unfiltered count when the caller has it (`count_tasks`); used only when no filter applies.
    """
    the_view = _checked(view, filters)
    page, per_page = max(1, page), min(max(1, per_page), MAX_PER_PAGE)
    conditions = _filter_conditions(the_view, filters, now)
    params: dict[str, Any] = {}
    if the_view == "cc":
        query = _copy_query().where(TaskCopy.user_id == actor.id, *conditions)
    else:
        if proxies is None:  # only the to-do view depends on proxy rules
            proxies = proxy_view(session, actor, now) if the_view == "todo" else ProxyView()
        branches = _view_branches(the_view, actor, proxies)
        if not branches.conditions:
            return Page([], page, per_page, 0)
        shaped = branches.shape is not None and not conditions  # the shapes name human_task only
        scan = filters.due_state in ("ok", "warning")
        if not scan and (shaped or _only_tasks([*branches.conditions, *conditions])):
            total = known_total if not conditions else None
            return _task_page(session, branches, conditions, the_view, page, per_page, now, total)
        query = _task_query().where(or_(*branches.conditions), *conditions)
        params = branches.params
    return _joined_page(
        session, query.order_by(*_order_by(the_view)), params, the_view, filters, page, per_page, now
    )


def _joined_page(
    session: Session,
    query: Select[Any],
    params: dict[str, Any],
    view: View,
    filters: TaskFilters,
    page: int,
    per_page: int,
    now: datetime,
) -> Page[TaskRow]:
    """The page from the query joined with the case (copies; filters on the process, item or text)."""
    make: Any = _copy_row if view == "cc" else _task_row
    if filters.due_state in ("ok", "warning"):  # the 80 % rule needs working days: computed per row
        return _scanned_page(session, query, params, make, filters, page, per_page, now)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()), params) or 0
    result = session.execute(query.limit(per_page).offset((page - 1) * per_page), params)
    return Page([make(*row, now) for row in result], page, per_page, total)


def _scanned_page(
    session: Session,
    query: Select[Any],
    params: dict[str, Any],
    make: Any,
    filters: TaskFilters,
    page: int,
    per_page: int,
    now: datetime,
) -> Page[TaskRow]:
    """Due state ok / warning: the badge is computed per row, over the first MAX_SCAN rows."""
    wanted = "green" if filters.due_state == "ok" else "yellow"
    rows = [
        r
        for r in (make(*row, now) for row in session.execute(query.limit(MAX_SCAN), params))
        if r.badge == wanted
    ]
    return Page(rows[(page - 1) * per_page : page * per_page], page, per_page, len(rows))


def _only_tasks(conditions: Sequence[ColumnElement[bool]]) -> bool:
    """Whether the conditions name no table but human_task (no process, item or text filter)."""
    return {t.name for t in find_tables(and_(*conditions), check_columns=True)} == {HumanTask.__tablename__}


def _rows_for(ids: Any, view: View) -> Select[Any]:
    """The list rows of the task ids in subquery `ids`, joined with the case and the people, in view order."""
    return (
        select(HumanTask, Case, Originator.display_name, Assignee.display_name)
        .join(ids, ids.c.id == HumanTask.id)
        .join(Case, Case.id == HumanTask.case_id)
        .outerjoin(Originator, Originator.id == Case.originator_id)
        .outerjoin(Assignee, Assignee.id == HumanTask.assignee_id)
        .order_by(*_order_by(view))
    )


def _page_statement(branches: Sequence[ColumnElement[bool]], view: View) -> Select[Any]:
    """Rows of one page (bound `limit`, `offset`; with several branches also `first` = offset + limit)."""
    limit, offset = bindparam("limit", type_=Integer), bindparam("offset", type_=Integer)
    if len(branches) == 1:
        ids = select(HumanTask.id).where(branches[0]).order_by(*_order_by(view))
    else:  # claimable only: ordered by due_at, nulls last
        firsts = [
            select(HumanTask.id, HumanTask.due_at)
            .where(branch)
            .order_by(*_order_by(view))
            .limit(bindparam("first", type_=Integer))
            .subquery()
            for branch in branches
        ]
        merged = union_all(*(select(part.c.id, part.c.due_at) for part in firsts)).subquery()
        ids = select(merged.c.id).order_by(merged.c.due_at.asc().nulls_last(), merged.c.id)
    return _rows_for(ids.limit(limit).offset(offset).subquery(), view)


def _task_page(
    session: Session,
    branches: _Branches,
    conditions: list[ColumnElement[bool]],
    view: View,
    page: int,
    per_page: int,
    now: datetime,
    known_total: int | None,
) -> Page[TaskRow]:
    """Count and page on human_task alone, then join the page's rows to the case and the people.

    Same rows as the joined query: every task has exactly one case and version (non-null foreign keys)
    and the people are outer joins on primary keys. Without this, PostgreSQL plans the joins for every
    matching task (tens of thousands for a big department) before it sorts and cuts the page. Several
    (disjoint) branches are paged each in index order and merged: the first `offset + per_page` of each.
    Without filters the statements are cached per shape.
    """
    parts = (
        [and_(branch, *conditions) for branch in branches.conditions] if conditions else branches.conditions
    )
    cacheable = branches.shape is not None and not conditions
    if known_total is None:
        count = _cached(("total", branches.shape), lambda: _total(parts)) if cacheable else _total(parts)
        known_total = session.scalar(count, branches.params) or 0
    offset = (page - 1) * per_page
    if known_total <= offset:
        return Page([], page, per_page, known_total)
    rows = (
        _cached(("page", view, branches.shape), lambda: _page_statement(parts, view))
        if cacheable
        else _page_statement(parts, view)
    )
    values = branches.params | {"limit": per_page, "offset": offset, "first": offset + per_page}
    if len(parts) == 1:
        del values["first"]
    make: Any = _task_row
    return Page([make(*row, now) for row in session.execute(rows, values)], page, per_page, known_total)


def _counted(condition: ColumnElement[bool]) -> Any:
    """count(*) of the tasks matching `condition` as a scalar subquery.

    count(*), not count(id): the count is then answered from the index alone (id is not in it). The joins
    of `_task_query` cannot change the count (case_id and process_version_id are non-null foreign keys,
    the people are outer joins), so they are left out unless the condition names the process.
    """
    query = select(func.count()).select_from(HumanTask).where(condition)
    if not _only_tasks([condition]):
        query = query.join(Case, Case.id == HumanTask.case_id).join(
            ProcessVersion, ProcessVersion.id == Case.process_version_id
        )
    return query.scalar_subquery()


def _total(branches: Sequence[ColumnElement[bool]]) -> Select[Any]:
    """One statement: the sum of the (disjoint) branches' counts; 0 for none."""
    if not branches:
        return select(literal(0))
    return select(reduce(operator.add, (_counted(branch) for branch in branches)))


_NAMES_ACTOR = (
    select(ProxyRule.id)
    .where(
        or_(ProxyRule.substitute_id == bindparam("actor_id"), ProxyRule.principal_id == bindparam("actor_id"))
    )
    .exists()
)


def _counts_statement(
    todo: Sequence[ColumnElement[bool]], claimable: Sequence[ColumnElement[bool]]
) -> Select[Any]:
    """todo, claimable, done, unread copies, and whether any proxy rule names the actor."""
    unread = (
        select(func.count())
        .select_from(TaskCopy)
        .where(TaskCopy.user_id == bindparam("actor_id"), TaskCopy.read_at.is_(None))
    )
    return select(
        _counted(todo[0]),
        _total(claimable).scalar_subquery(),
        _counted(_shaped(("done",))[0]),
        unread.scalar_subquery(),
        _NAMES_ACTOR,
    )


def _counts(
    session: Session, actor: User, now: datetime, proxies: ProxyView | None
) -> tuple[dict[str, int], ProxyView]:
    """The navigation counts and the actor's proxy rules.

    Without `proxies`, the counts first assume the actor takes part in no proxy rule (the usual case:
    one statement, no separate read of the rules); the same statement says whether a rule names the
    actor, and only then are the rules read and the counts taken again with them.
    """
    claimable = _view_branches("claimable", actor, ProxyView())
    todo = _view_branches("todo", actor, proxies or ProxyView())
    if todo.shape is None:
        statement = _counts_statement(todo.conditions, claimable.conditions)
    else:
        key = ("counts", claimable.shape)
        statement = _cached(key, lambda: _counts_statement(todo.conditions, claimable.conditions))
    *values, names_actor = session.execute(statement, {"actor_id": actor.id} | claimable.params).one()
    if proxies is None and names_actor:
        return _counts(session, actor, now, proxy_view(session, actor, now))
    counts = {
        view: int(value or 0) for view, value in zip(("todo", "claimable", "done", "cc"), values, strict=True)
    }
    return counts, proxies or ProxyView()


def count_tasks(
    session: Session, actor: User, now: datetime, proxies: ProxyView | None = None
) -> dict[str, int]:
    """Counts for the navigation: open to-dos, claimable, done, unread copies — in one statement (two
    more when a proxy rule names the actor)."""
    return _counts(session, actor, now, proxies)[0]


def tasks_with_counts(
    session: Session,
    actor: User,
    view: str,
    filters: TaskFilters,
    page: int,
    per_page: int,
    now: datetime,
) -> tuple[Page[TaskRow], dict[str, int]]:
    """A page of `view` and the navigation counts (the JSON list): the proxy rules are read at most once,
    and without filters the view's count is the page's total (todo, claimable and done; cc counts unread)."""
    _checked(view, filters)
    counts, proxies = _counts(session, actor, now, None)
    known = counts[view] if view != "cc" else None
    page_ = list_tasks(session, actor, view, filters, page, per_page, now, proxies=proxies, known_total=known)
    return page_, counts


def principal_names(session: Session, rows: Sequence[TaskRow]) -> dict[int, str]:
    """Display names of the principals rows are handled on behalf of (one query)."""
    ids = sorted({r.on_behalf_of_id for r in rows if r.on_behalf_of_id})
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).tuples().all())
