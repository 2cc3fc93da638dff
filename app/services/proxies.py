"""代理 (vacation proxies): while a rule lasts, the principal's tasks go to the substitute.

Decisions (see docs/architecture.md, "Approver workspace"):
- A rule is active while `starts_at <= now < ends_at` and not cancelled; `process_id` None = every process.
- New tasks that would go to the principal personally (applicant tasks, an `assignee` property) go to the
  substitute. Role-candidate tasks go to the substitute only when the principal is the *only* active holder
  of that role (in that department): otherwise the other holders can still claim them.
- Creating a rule that is already active moves the principal's open tasks to the substitute. A rule that
  starts later moves nothing; while it is active the substitute may still see and act on the tasks assigned
  to the principal (`acting_for`).
- A moved task is marked with the property `onBehalfOf` = principal id: opinions get `on_behalf_of`, the
  principal's to-do list still shows it ("张三 (代 李四)").
- When `ends_at` passes, new tasks go to the principal again; moved tasks stay with the substitute (no task
  changes hands behind a handler's back). Cancelling a rule (also after it ended) gives every moved task
  that is still open and not delegated back to the principal.
- No chains: a substitute's own rule is not followed, and a rule whose substitute delegates back is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app.models import Case, HumanTask, ProcessVersion, ProxyRule, User
from app.services.audit import record_event
from app.services.directory import get_active_user, is_staff, role_holders
from app.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from app.services.notifications import notify
from app.services.permissions import Candidates, may_act

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
    moved = _move_open_tasks(session, rule, actor, now) if starts_at <= now < ends_at else 0
    title = f"{principal.display_name} 请您代理其待办事项"
    body = f"{starts_at.isoformat()} 至 {ends_at.isoformat()}；已转来 {moved} 件待办。"
    notify(session, substitute.id, "proxy.set", title, body, "/tasks?view=todo", None, now)
    record_event(session, None, actor, "proxy.set", {"rule": rule.id, "moved": moved}, now)
    session.flush()
    return rule


def _tasks_of(session: Session, user_id: int, process_id: str | None) -> list[HumanTask]:
    query = select(HumanTask).where(
        HumanTask.assignee_id == user_id, HumanTask.state == "open", HumanTask.owner_id.is_(None)
    )
    if process_id is not None:
        query = (
            query.join(Case, Case.id == HumanTask.case_id)
            .join(ProcessVersion, ProcessVersion.id == Case.process_version_id)
            .where(ProcessVersion.process_id == process_id)
        )
    return list(session.scalars(query))


def _move_open_tasks(session: Session, rule: ProxyRule, actor: User, now: datetime) -> int:
    tasks = _tasks_of(session, rule.principal_id, rule.process_id)
    for task in tasks:
        task.assignee_id = rule.substitute_id
        task.properties = {**task.properties, ON_BEHALF: str(rule.principal_id)}
        detail = {"task": task.bpmn_id, "task_id": task.id, "to": rule.substitute_id, "rule": rule.id}
        record_event(session, task.case, actor, "task.proxied", detail, now)
    return len(tasks)


def cancel_proxy(session: Session, rule_id: int, actor: User, now: datetime) -> ProxyRule:
    """End a proxy now; the open tasks it moved (not delegated) go back to the principal."""
    rule = session.get(ProxyRule, rule_id)
    if rule is None:
        raise NotFound("代理设置不存在 (no such proxy rule)")
    if actor.id not in (rule.principal_id, rule.substitute_id) and not actor.has_role("admin"):
        raise PermissionDenied("无权取消此代理 (not your proxy)")
    if rule.cancelled_at is not None:
        raise Conflict("代理已取消 (already cancelled)")
    rule.cancelled_at = now
    back = [
        task
        for task in _tasks_of(session, rule.substitute_id, rule.process_id)
        if task.properties.get(ON_BEHALF) == str(rule.principal_id)
    ]
    for task in back:
        task.assignee_id = rule.principal_id
        task.properties = {k: v for k, v in task.properties.items() if k != ON_BEHALF}
        record_event(session, task.case, actor, "task.proxy_returned", {"task_id": task.id}, now)
    notify(
        session,
        rule.principal_id,
        "proxy.cancelled",
        "代理已结束",
        f"{len(back)} 件待办已回到您的待办。",
        "/tasks?view=todo",
        None,
        now,
    )
    record_event(session, None, actor, "proxy.cancelled", {"rule": rule.id, "returned": len(back)}, now)
    session.flush()
    return rule


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
