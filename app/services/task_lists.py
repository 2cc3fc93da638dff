"""To-do lists (待办 / 可认领 / 已办 / 抄送): one query per page, joined with the case and the people. A
view's page is counted and paged on human_task alone when only its branches (`task_visibility`) and filters
on human_task apply, then the page's rows are joined to the case and the people; otherwise the joined query
is paged, or scanned when the due state must be computed per row. Row and page types: `task_rows`; the
navigation counts: `task_counts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Integer, Select, and_, bindparam, func, or_, select, union_all
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from app.models import Case, HumanTask, ProcessVersion, ServiceItem, TaskCopy, User
from app.services.errors import InvalidInput
from app.services.runtime import working_calendar
from app.services.task_counts import counts_and_proxies, only_tasks, total_statement
from app.services.task_rows import (
    DUE_STATES,
    MAX_PER_PAGE,
    VIEWS,
    Page,
    TaskFilters,
    TaskRow,
    View,
    copy_row,
    task_row,
)
from app.services.task_visibility import Branches, ProxyView, cached, proxy_view, view_branches
from app.services.withdrawals import withdrawable_ids

MAX_SCAN = 2000  # rows scanned when the due-state filter must be computed in Python

Originator = aliased(User, name="originator")
Assignee = aliased(User, name="assignee")


def _local_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=working_calendar().tz)


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
    """One page of a to-do list view, most urgent first (due_at, nulls last); 已办 rows say whether their
    completion may still be withdrawn (`withdrawals`, a few queries for the page).

    `proxies`: the actor's proxy rules when the caller has read them already. `known_total`: the view's
    unfiltered count when the caller has it (`count_tasks`); used only when no filter applies.
    """
    found = _view_page(session, actor, view, filters, page, per_page, now, proxies, known_total)
    if view != "done" or not found.items:
        return found
    allowed = withdrawable_ids(session, [r.task_id for r in found.items if r.task_id is not None], actor)
    return replace(found, items=[replace(r, withdrawable=r.task_id in allowed) for r in found.items])


def _view_page(
    session: Session,
    actor: User,
    view: str,
    filters: TaskFilters,
    page: int,
    per_page: int,
    now: datetime,
    proxies: ProxyView | None,
    known_total: int | None,
) -> Page[TaskRow]:
    the_view = _checked(view, filters)
    page, per_page = max(1, page), min(max(1, per_page), MAX_PER_PAGE)
    conditions = _filter_conditions(the_view, filters, now)
    params: dict[str, Any] = {}
    if the_view == "cc":
        query = _copy_query().where(TaskCopy.user_id == actor.id, *conditions)
    else:
        if proxies is None:  # only the to-do view depends on proxy rules
            proxies = proxy_view(session, actor, now) if the_view == "todo" else ProxyView()
        branches = view_branches(the_view, actor, proxies)
        if not branches.conditions:
            return Page([], page, per_page, 0)
        shaped = branches.shape is not None and not conditions  # the shapes name human_task only
        scan = filters.due_state in ("ok", "warning")
        if not scan and (shaped or only_tasks([*branches.conditions, *conditions])):
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
    make: Any = copy_row if view == "cc" else task_row
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
    branches: Branches,
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
        count = (
            cached(("total", branches.shape), lambda: total_statement(parts))
            if cacheable
            else total_statement(parts)
        )
        known_total = session.scalar(count, branches.params) or 0
    offset = (page - 1) * per_page
    if known_total <= offset:
        return Page([], page, per_page, known_total)
    rows = (
        cached(("page", view, branches.shape), lambda: _page_statement(parts, view))
        if cacheable
        else _page_statement(parts, view)
    )
    values = branches.params | {"limit": per_page, "offset": offset, "first": offset + per_page}
    if len(parts) == 1:
        del values["first"]
    make: Any = task_row
    return Page([make(*row, now) for row in session.execute(rows, values)], page, per_page, known_total)


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
    counts, proxies = counts_and_proxies(session, actor, now, None)
    known = counts[view] if view != "cc" else None
    page_ = list_tasks(session, actor, view, filters, page, per_page, now, proxies=proxies, known_total=known)
    return page_, counts


def principal_names(session: Session, rows: Sequence[TaskRow]) -> dict[int, str]:
    """Display names of the principals rows are handled on behalf of (one query)."""
    ids = sorted({r.on_behalf_of_id for r in rows if r.on_behalf_of_id})
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).tuples().all())
