"""The handover of tasks between a proxy rule's principal and substitute: at the start the principal's
open tasks move to the substitute, at the end (or at cancellation) the tasks the rule gave the substitute
go back to the principal or on to a following rule's substitute, each move locked, audited and notified;
the `proxy_rules` job (`due_proxy_rule_ids`, `run_proxy_rule`) applies starts and ends that have come.
The decisions are in the docstring of `proxies.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from app.models import Case, HumanTask, Opinion, ProcessVersion, ProxyRule, User
from app.services.audit import record_event
from app.services.notifications import notify
from app.services.proxies import ON_BEHALF, active_condition, active_rules, substitute_in
from app.services.runtime import local_minutes


def _open_tasks_of(user_id: int, process_id: str | None) -> list[ColumnElement[bool]]:
    """Open tasks assigned to `user_id`, not out on 委派, of `process_id` (None: any)."""
    conditions = [HumanTask.assignee_id == user_id, HumanTask.state == "open", HumanTask.owner_id.is_(None)]
    if process_id is not None:
        conditions.append(
            exists().where(
                Case.id == HumanTask.case_id,
                ProcessVersion.id == Case.process_version_id,
                ProcessVersion.process_id == process_id,
            )
        )
    return conditions


def _principal_tasks(rule: ProxyRule) -> list[ColumnElement[bool]]:
    """What the start moves: the principal's open tasks (of the rule's process)."""
    return _open_tasks_of(rule.principal_id, rule.process_id)


def _substitute_tasks(rule: ProxyRule) -> list[ColumnElement[bool]]:
    """What the end gives back: the substitute's open tasks held for the principal, not delegated by them."""
    answered_delegation = exists().where(
        Opinion.human_task_id == HumanTask.id, Opinion.on_behalf_of_id == rule.substitute_id
    )
    return [
        *_open_tasks_of(rule.substitute_id, rule.process_id),
        HumanTask.properties[ON_BEHALF].as_string() == str(rule.principal_id),
        ~answered_delegation,
    ]


def _claim_tasks(session: Session, conditions: list[ColumnElement[bool]]) -> list[HumanTask]:
    """The matching tasks, locked; rows another transaction holds are skipped (PostgreSQL; SQLite holds
    the write lock)."""
    query = (
        select(HumanTask)
        .where(*conditions)
        .order_by(HumanTask.id)
        .options(selectinload(HumanTask.case).selectinload(Case.process_version))
        .with_for_update(of=HumanTask, skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(query))


def _all_done(session: Session, conditions: list[ColumnElement[bool]], kept: set[int]) -> bool:
    """After the changes: does no task match any more (but those deliberately `kept`)? A task skipped
    because it was locked still matches, and the rule is finished by a later run."""
    session.flush()
    return set(session.scalars(select(HumanTask.id).where(*conditions))) <= kept


def move_open_tasks(session: Session, rule: ProxyRule, actor: User | None, now: datetime) -> tuple[int, bool]:
    """The start: move the principal's open tasks to the substitute. (moved, nothing skipped)"""
    conditions = _principal_tasks(rule)
    tasks = _claim_tasks(session, conditions)
    for task in tasks:
        _hand(session, task, rule, rule.substitute_id, actor, now)
    return len(tasks), _all_done(session, conditions, set())


def _hand(
    session: Session, task: HumanTask, rule: ProxyRule, to_id: int, actor: User | None, now: datetime
) -> None:
    """Give `task` to `to_id` on behalf of the rule's principal (`rule`: the rule that moves it, or the
    ending rule whose task goes on to the substitute of the principal's following rule)."""
    task.assignee_id = to_id
    task.properties = {**task.properties, ON_BEHALF: str(rule.principal_id)}
    detail = {"task": task.bpmn_id, "task_id": task.id, "to": to_id, "rule": rule.id}
    record_event(session, task.case, actor, "task.proxied", detail, now)


@dataclass(frozen=True)
class GiveBack:
    """What the end of a rule did: tasks back to the principal, tasks on to a following rule's substitute,
    and whether every task was handled (none skipped because it was locked)."""

    returned: int
    handed_on: dict[int, int]
    complete: bool


def give_back(session: Session, rule: ProxyRule, actor: User | None, now: datetime) -> GiveBack:
    """The end: the tasks the rule gave the substitute go back to the principal (or to the substitute of
    the principal's rule active now, if any, for the task's process)."""
    conditions = _substitute_tasks(rule)
    tasks = _claim_tasks(session, conditions)
    following = active_rules(session, now, rule.principal_id) if tasks else []  # this rule is over
    returned, kept = 0, set()
    handed_on: dict[int, int] = {}
    for task in tasks:
        process_id = task.case.process_version.process_id
        target = substitute_in(following, rule.principal_id, process_id)
        if target == rule.substitute_id:
            kept.add(task.id)
        elif target is not None:
            _hand(session, task, rule, target, actor, now)
            handed_on[target] = handed_on.get(target, 0) + 1
        else:
            task.assignee_id = rule.principal_id
            task.properties = {k: v for k, v in task.properties.items() if k != ON_BEHALF}
            detail = {"task_id": task.id, "to": rule.principal_id, "rule": rule.id}
            record_event(session, task.case, actor, "task.proxy_returned", detail, now)
            returned += 1
    return GiveBack(returned, handed_on, _all_done(session, conditions, kept))


def notify_handed_on(session: Session, rule: ProxyRule, back: GiveBack, now: datetime) -> None:
    for target, count in back.handed_on.items():
        title = f"{rule.principal.display_name} 请您代理其待办事项"
        notify(
            session, target, "proxy.started", title, f"已转来 {count} 件待办。", "/tasks?view=todo", None, now
        )


# ---- the proxy_rules job: starts and ends that have come -------------------------------------------------


def _start_due(now: datetime) -> ColumnElement[bool]:
    return and_(ProxyRule.applied_at.is_(None), active_condition(now))


def _end_due(now: datetime) -> ColumnElement[bool]:
    return or_(ProxyRule.cancelled_at.is_not(None), ProxyRule.ends_at <= now)


def due_proxy_rule_ids(session: Session, now: datetime) -> list[int]:
    """Rules whose end (first) or start has come and is not applied yet; a plain read, claimed one by one."""
    pending = ProxyRule.reverted_at.is_(None)  # ix_proxy_rule_pending: finished rules are not read
    ends = select(ProxyRule.id).where(pending, _end_due(now)).order_by(ProxyRule.id)
    starts = select(ProxyRule.id).where(pending, _start_due(now)).order_by(ProxyRule.id)
    return [*session.scalars(ends), *session.scalars(starts)]


@dataclass(frozen=True)
class RuleRun:
    """One rule handled by the job: its start or its end, the tasks that changed hands, and whether done."""

    rule_id: int
    kind: str  # "start" | "end"
    moved: int
    returned: int
    complete: bool


def run_proxy_rule(session: Session, rule_id: int, now: datetime) -> RuleRun | None:
    """Apply the start or the end of one rule if it is due (None: not due, or another node has it)."""
    rule = session.scalar(
        select(ProxyRule)
        .where(ProxyRule.id == rule_id, ProxyRule.reverted_at.is_(None), or_(_end_due(now), _start_due(now)))
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    if rule is None:
        return None
    if rule.cancelled_at is not None or rule.ends_at <= now:
        back = give_back(session, rule, None, now)
        if back.complete:
            rule.reverted_at = now
        _notify_end(session, rule, back, now)
        detail = {"rule": rule.id, "returned": back.returned, "complete": back.complete}
        record_event(session, None, None, "proxy.ended", detail, now)
        session.flush()
        return RuleRun(rule.id, "end", sum(back.handed_on.values()), back.returned, back.complete)
    moved, complete = move_open_tasks(session, rule, None, now)
    if complete:
        rule.applied_at = now
    if moved:
        title = f"{rule.principal.display_name} 的代理已开始"
        body = f"已转来 {moved} 件待办，代理至 {local_minutes(rule.ends_at)}。"
        notify(session, rule.substitute_id, "proxy.started", title, body, "/tasks?view=todo", None, now)
    record_event(
        session, None, None, "proxy.started", {"rule": rule.id, "moved": moved, "complete": complete}, now
    )
    session.flush()
    return RuleRun(rule.id, "start", moved, 0, complete)


def _notify_end(session: Session, rule: ProxyRule, back: GiveBack, now: datetime) -> None:
    notify_handed_on(session, rule, back, now)
    if not back.returned:
        return
    body = f"{back.returned} 件待办已回到您的待办。"
    notify(session, rule.principal_id, "proxy.ended", "代理已结束", body, "/tasks?view=todo", None, now)
    title = f"{rule.principal.display_name} 的代理已结束"
    body = f"{back.returned} 件未处理的待办已交还 {rule.principal.display_name}。"
    notify(session, rule.substitute_id, "proxy.ended", title, body, "/tasks?view=todo", None, now)
