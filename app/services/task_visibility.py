"""Who sees which tasks: the proxy rules (代理) that shape an actor's to-do view (`ProxyView`), and each
view (todo, claimable, done) as disjoint conditions on human_task with their bound values (`Branches`) —
claimable being one branch per (role, department) pair the actor's memberships offer. Unfiltered views are
keyed by their shape, so their conditions and the statements built on them are made once per shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app.models import HumanTask, ProcessVersion, ProxyRule, User
from app.services.proxies import ON_BEHALF, ActiveRule
from app.services.task_rows import View


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
class Branches:
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


def shaped(shape: tuple[Any, ...]) -> tuple[ColumnElement[bool], ...]:
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


def cached(key: tuple[Any, ...], build: Any) -> Any:
    """A statement built once per key (keys are statement shapes: a handful)."""
    statement = _STATEMENT_CACHE.get(key)
    if statement is None:
        statement = _STATEMENT_CACHE[key] = build()
    return statement


def view_branches(view: View, actor: User, proxies: ProxyView) -> Branches:
    """Disjoint conditions on human_task whose union is the view (todo, claimable or done)."""
    if view == "todo" and (proxies.acting_for or proxies.substitutes):
        return Branches((_todo_condition(actor, proxies),), {}, None)
    if view in ("todo", "done"):
        return Branches(shaped((view,)), {"actor_id": actor.id}, (view,))
    pairs = _claimable_pairs(actor)
    shape = ("claimable", *(bool(department) for _, department in pairs))
    params: dict[str, Any] = {}
    for i, (role, department) in enumerate(pairs):
        params[f"role_{i}"] = role
        if department:
            params[f"department_{i}"] = department
    return Branches(shaped(shape), params, shape)
