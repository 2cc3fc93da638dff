"""代理 (vacation proxies): while a rule lasts, the principal's tasks go to the substitute.

Decisions (see docs/architecture.md, "Approver workspace"):
- A rule is active while `starts_at <= now < ends_at` and not cancelled; `process_id` None = every process.
- New tasks that would go to the principal personally (applicant tasks, an `assignee` property) go to the
  substitute. Role-candidate tasks go to the substitute only when the principal is the *only* active holder
  of that role (in that department): otherwise the other holders can still claim them.
- The start: the principal's open tasks (assigned to them, not out on 委派, of the rule's process) move to
  the substitute — when the rule is created if it is active then, else when the `proxy_rules` job runs
  after `starts_at` (`applied_at` records it). Each move: property `onBehalfOf`, a `task.proxied` audit
  event; the substitute is notified. Until the job has run, the substitute may already see and act on the
  tasks assigned to the principal (`acting_for`).
- A moved task is marked with the property `onBehalfOf` = principal id: opinions get `on_behalf_of`, the
  principal's to-do list still shows it ("张三 (代 李四)"), also after the rule ended if it stays.
- The end: when the job runs after `ends_at`, or at `cancel_proxy` (`reverted_at` records it), every task
  the rule gave the substitute (moved at the start or routed while it lasted: `onBehalfOf` = principal)
  that is still open, assigned to the substitute and not handed on goes back to the principal (`onBehalfOf`
  removed, `task.proxy_returned` event; the principal and the substitute are notified). Tasks that stay:
  转办 by the substitute (another assignee, no `onBehalfOf`); out on 委派 (`owner_id` set: they come back to
  the substitute, who finishes them); and 委派 answered (an opinion on behalf of the substitute: the
  answer was given to them). A task a following rule of the principal (already active) covers goes to
  that rule's substitute instead, or simply stays when it is the same one.
- Both ends lock what they change: the job claims each rule row with FOR UPDATE SKIP LOCKED (two nodes
  never handle the same rule), every task row the same way (a task being worked on is left alone);
  `cancel_proxy` waits for the rule row. When a task was skipped, `applied_at` / `reverted_at` stay empty
  and the next run finishes the rule; the job run again on a finished rule changes nothing.
- No chains: a substitute's own rule is not followed, and a rule whose substitute delegates back is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from app.models import Case, HumanTask, Opinion, ProcessVersion, ProxyRule, User
from app.services.audit import record_event
from app.services.directory import get_active_user, is_staff, role_holders
from app.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from app.services.notifications import notify
from app.services.permissions import Candidates, may_act
from app.services.runtime import local_minutes

ON_BEHALF = "onBehalfOf"
MAX_PROXY_DAYS = 366


@dataclass(frozen=True)
class ActiveRule:
    """The parts of an active rule that routing needs."""

    principal_id: int
    substitute_id: int
    process_id: str | None


def _active(now: datetime) -> ColumnElement[bool]:
    return and_(ProxyRule.cancelled_at.is_(None), ProxyRule.starts_at <= now, ProxyRule.ends_at > now)


def active_rules(session: Session, now: datetime, principal_id: int | None = None) -> list[ActiveRule]:
    """Every rule active at `now` (optionally of one principal), in one query."""
    query = select(ProxyRule.principal_id, ProxyRule.substitute_id, ProxyRule.process_id).where(_active(now))
    if principal_id is not None:
        query = query.where(ProxyRule.principal_id == principal_id)
    return [ActiveRule(r.principal_id, r.substitute_id, r.process_id) for r in session.execute(query)]


def substitute_in(rules: list[ActiveRule], user_id: int, process_id: str) -> int | None:
    """The substitute of `user_id` for `process_id` among `rules` (a process-specific rule wins)."""
    matches = [r for r in rules if r.principal_id == user_id and r.process_id in (None, process_id)]
    matches.sort(key=lambda r: r.process_id is None)
    return matches[0].substitute_id if matches else None


def route_new_task(
    session: Session,
    rules: list[ActiveRule],
    process_id: str,
    candidates: Candidates,
    assignee_id: int | None,
) -> tuple[int | None, int | None]:
    """(assignee, on behalf of) for a new task, given the active rules."""
    if not rules:
        return assignee_id, None
    if assignee_id is not None:
        substitute = substitute_in(rules, assignee_id, process_id)
        return (substitute, assignee_id) if substitute is not None else (assignee_id, None)
    if candidates.role is None or candidates.applicant:
        return None, None
    principals = {r.principal_id for r in rules}
    holders = role_holders(session, candidates.role, candidates.department, limit=2)
    if len(holders) == 1 and holders[0] in principals:
        substitute = substitute_in(rules, holders[0], process_id)
        if substitute is not None:
            return substitute, holders[0]
    return None, None


def acting_for(session: Session, actor: User, task: HumanTask, now: datetime) -> int | None:
    """Check that `actor` may act on `task`; return the principal they act for (or None). PermissionDenied."""
    if may_act(actor, task):
        if task.assignee_id == actor.id and task.properties.get(ON_BEHALF):
            return int(task.properties[ON_BEHALF])
        return None
    if task.assignee_id is not None:
        process_id = task.case.process_version.process_id
        if (
            substitute_in(active_rules(session, now, task.assignee_id), task.assignee_id, process_id)
            == actor.id
        ):
            return task.assignee_id
    raise PermissionDenied("您不是此任务的办理人 (you may not act on this task)")


def _check_rule(
    session: Session, principal: User, substitute: User, starts_at: datetime, ends_at: datetime
) -> None:
    if principal.id == substitute.id:
        raise InvalidInput("代理人不能是本人", {"substitute_id": "不能代理自己"})
    if not is_staff(substitute):
        raise InvalidInput("代理人必须是工作人员", {"substitute_id": "不是工作人员"})
    if ends_at <= starts_at:
        raise InvalidInput("结束时间必须晚于开始时间", {"ends_at": "必须晚于 starts_at"})
    if (ends_at - starts_at).days > MAX_PROXY_DAYS:
        raise InvalidInput(f"代理期限不能超过 {MAX_PROXY_DAYS} 天", {"ends_at": "过长"})
    back = session.scalar(
        select(ProxyRule.id).where(
            ProxyRule.principal_id == substitute.id,
            ProxyRule.substitute_id == principal.id,
            ProxyRule.cancelled_at.is_(None),
            ProxyRule.starts_at < ends_at,
            ProxyRule.ends_at > starts_at,
        )
    )
    if back is not None:
        raise Conflict("代理人在此期间由您代理，不能互相代理 (proxies may not point back)")


def _overlapping(
    session: Session, principal_id: int, process_id: str | None, starts_at: datetime, ends_at: datetime
) -> ProxyRule | None:
    return session.scalar(
        select(ProxyRule).where(
            ProxyRule.principal_id == principal_id,
            ProxyRule.cancelled_at.is_(None),
            ProxyRule.starts_at < ends_at,
            ProxyRule.ends_at > starts_at,
            or_(ProxyRule.process_id.is_(None), ProxyRule.process_id == process_id)
            if process_id is not None
            else ProxyRule.id.is_not(None),
        )
    )


def set_proxy(
    session: Session,
    principal_id: int,
    substitute_id: int,
    starts_at: datetime,
    ends_at: datetime,
    process_id: str | None,
    actor: User,
    now: datetime,
) -> ProxyRule:
    """Create a vacation proxy (by the principal or an administrator); move open tasks if active now."""
    if actor.id != principal_id and not actor.has_role("admin"):
        raise PermissionDenied("只能为自己设置代理 (only for yourself, or by an administrator)")
    principal, substitute = get_active_user(session, principal_id), get_active_user(session, substitute_id)
    _check_rule(session, principal, substitute, starts_at, ends_at)
    process_id = (process_id or "").strip() or None
    if _overlapping(session, principal.id, process_id, starts_at, ends_at) is not None:
        raise Conflict("该期间已有代理设置 (an overlapping proxy exists)")
    rule = ProxyRule(
        principal_id=principal.id,
        substitute_id=substitute.id,
        process_id=process_id,
        starts_at=starts_at,
        ends_at=ends_at,
        created_at=now,
    )
    session.add(rule)
    session.flush()
    moved = 0
    if starts_at <= now < ends_at:
        moved, complete = _move_open_tasks(session, rule, actor, now)
        rule.applied_at = now if complete else None  # else the job moves the rest
    title = f"{principal.display_name} 请您代理其待办事项"
    body = f"{local_minutes(starts_at)} 至 {local_minutes(ends_at)}；已转来 {moved} 件待办。"
    notify(session, substitute.id, "proxy.set", title, body, "/tasks?view=todo", None, now)
    record_event(session, None, actor, "proxy.set", {"rule": rule.id, "moved": moved}, now)
    session.flush()
    return rule


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


def _move_open_tasks(
    session: Session, rule: ProxyRule, actor: User | None, now: datetime
) -> tuple[int, bool]:
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


def _give_back(session: Session, rule: ProxyRule, actor: User | None, now: datetime) -> GiveBack:
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


def cancel_proxy(session: Session, rule_id: int, actor: User, now: datetime) -> ProxyRule:
    """End a proxy now; the open tasks it gave the substitute (not handed on) go back to the principal."""
    rule = session.scalar(
        select(ProxyRule)
        .where(ProxyRule.id == rule_id)
        .with_for_update()  # waits for a job run handling this rule
        .execution_options(populate_existing=True)
    )
    if rule is None:
        raise NotFound("代理设置不存在 (no such proxy rule)")
    if actor.id not in (rule.principal_id, rule.substitute_id) and not actor.has_role("admin"):
        raise PermissionDenied("无权取消此代理 (not your proxy)")
    if rule.cancelled_at is not None:
        raise Conflict("代理已取消 (already cancelled)")
    rule.cancelled_at = now
    back = _give_back(session, rule, actor, now)
    rule.reverted_at = now if back.complete else None  # else the job gives back the rest
    _notify_handed_on(session, rule, back, now)
    notify(
        session,
        rule.principal_id,
        "proxy.cancelled",
        "代理已结束",
        f"{back.returned} 件待办已回到您的待办。",
        "/tasks?view=todo",
        None,
        now,
    )
    detail = {"rule": rule.id, "returned": back.returned}
    record_event(session, None, actor, "proxy.cancelled", detail, now)
    session.flush()
    return rule


def _notify_handed_on(session: Session, rule: ProxyRule, back: GiveBack, now: datetime) -> None:
    for target, count in back.handed_on.items():
        title = f"{rule.principal.display_name} 请您代理其待办事项"
        notify(
            session, target, "proxy.started", title, f"已转来 {count} 件待办。", "/tasks?view=todo", None, now
        )


# ---- the proxy_rules job: starts and ends that have come -------------------------------------------------


def _start_due(now: datetime) -> ColumnElement[bool]:
    return and_(ProxyRule.applied_at.is_(None), _active(now))


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
        back = _give_back(session, rule, None, now)
        if back.complete:
            rule.reverted_at = now
        _notify_end(session, rule, back, now)
        detail = {"rule": rule.id, "returned": back.returned, "complete": back.complete}
        record_event(session, None, None, "proxy.ended", detail, now)
        session.flush()
        return RuleRun(rule.id, "end", sum(back.handed_on.values()), back.returned, back.complete)
    moved, complete = _move_open_tasks(session, rule, None, now)
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
    _notify_handed_on(session, rule, back, now)
    if not back.returned:
        return
    body = f"{back.returned} 件待办已回到您的待办。"
    notify(session, rule.principal_id, "proxy.ended", "代理已结束", body, "/tasks?view=todo", None, now)
    title = f"{rule.principal.display_name} 的代理已结束"
    body = f"{back.returned} 件未处理的待办已交还 {rule.principal.display_name}。"
    notify(session, rule.substitute_id, "proxy.ended", title, body, "/tasks?view=todo", None, now)


def list_proxies(session: Session, actor: User) -> list[ProxyRule]:
    """The rules where the actor is principal or substitute, newest first."""
    query = (
        select(ProxyRule)
        .where(or_(ProxyRule.principal_id == actor.id, ProxyRule.substitute_id == actor.id))
        .order_by(ProxyRule.starts_at.desc())
    )
    return list(session.scalars(query))


def behalf_label(author: str, principal: str | None) -> str:
    """`张三 (代 李四)` for an opinion written on behalf of someone."""
    return f"{author} (代 {principal})" if principal else author
