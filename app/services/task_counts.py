"""The navigation counts of the to-do lists: open to-dos, claimable, done and unread copies, taken in one
statement of scalar subqueries (each view's disjoint branches counted from the index alone where they name
only human_task), which also says whether a proxy rule names the actor — only then are the rules read and
the counts taken again with them. The page queries reuse `total_statement` for a view's count.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from datetime import datetime
from functools import reduce
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.util import find_tables

from app.models import Case, HumanTask, ProcessVersion, ProxyRule, TaskCopy, User
from app.services.task_visibility import ProxyView, cached, proxy_view, shaped, view_branches


def only_tasks(conditions: Sequence[ColumnElement[bool]]) -> bool:
    """Whether the conditions name no table but human_task (no process, item or text filter)."""
    return {t.name for t in find_tables(and_(*conditions), check_columns=True)} == {HumanTask.__tablename__}


def _counted(condition: ColumnElement[bool]) -> Any:
    """count(*) of the tasks matching `condition` as a scalar subquery.

    count(*), not count(id): the count is then answered from the index alone (id is not in it). The joins
    of `task_lists._task_query` cannot change the count (case_id and process_version_id are non-null
    foreign keys, the people are outer joins), so they are left out unless the condition names the process.
    """
    query = select(func.count()).select_from(HumanTask).where(condition)
    if not only_tasks([condition]):
        query = query.join(Case, Case.id == HumanTask.case_id).join(
            ProcessVersion, ProcessVersion.id == Case.process_version_id
        )
    return query.scalar_subquery()


def total_statement(branches: Sequence[ColumnElement[bool]]) -> Select[Any]:
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
        total_statement(claimable).scalar_subquery(),
        _counted(shaped(("done",))[0]),
        unread.scalar_subquery(),
        _NAMES_ACTOR,
    )


def counts_and_proxies(
    session: Session, actor: User, now: datetime, proxies: ProxyView | None
) -> tuple[dict[str, int], ProxyView]:
    """The navigation counts and the actor's proxy rules.

    Without `proxies`, the counts first assume the actor takes part in no proxy rule (the usual case:
    one statement, no separate read of the rules); the same statement says whether a rule names the
    actor, and only then are the rules read and the counts taken again with them.
    """
    claimable = view_branches("claimable", actor, ProxyView())
    todo = view_branches("todo", actor, proxies or ProxyView())
    if todo.shape is None:
        statement = _counts_statement(todo.conditions, claimable.conditions)
    else:
        key = ("counts", claimable.shape)
        statement = cached(key, lambda: _counts_statement(todo.conditions, claimable.conditions))
    *values, names_actor = session.execute(statement, {"actor_id": actor.id} | claimable.params).one()
    if proxies is None and names_actor:
        return counts_and_proxies(session, actor, now, proxy_view(session, actor, now))
    counts = {
        view: int(value or 0) for view, value in zip(("todo", "claimable", "done", "cc"), values, strict=True)
    }
    return counts, proxies or ProxyView()


def count_tasks(
    session: Session, actor: User, now: datetime, proxies: ProxyView | None = None
) -> dict[str, int]:
    """Counts for the navigation: open to-dos, claimable, done, unread copies — in one statement (two
    more when a proxy rule names the actor)."""
    return counts_and_proxies(session, actor, now, proxies)[0]
