"""Setting and cancelling vacation proxy rules (代理): `set_proxy` checks a new rule (no self-proxy, staff
only, at most `MAX_PROXY_DAYS`, no overlap, no rule pointing back) and moves the principal's open tasks
when it is active at once; `cancel_proxy` ends a rule now and gives its tasks back. Both notify and audit;
the moves themselves are in `proxy_handover.py`, the decisions in the docstring of `proxies.py`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.models import ProxyRule, User
from app.services.audit import record_event
from app.services.directory import get_active_user, is_staff
from app.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from app.services.notifications import notify
from app.services.proxy_handover import give_back, move_open_tasks, notify_handed_on
from app.services.runtime import local_minutes

MAX_PROXY_DAYS = 366


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
        moved, complete = move_open_tasks(session, rule, actor, now)
        rule.applied_at = now if complete else None  # else the job moves the rest
    title = f"{principal.display_name} 请您代理其待办事项"
    body = f"{local_minutes(starts_at)} 至 {local_minutes(ends_at)}；已转来 {moved} 件待办。"
    notify(session, substitute.id, "proxy.set", title, body, "/tasks?view=todo", None, now)
    record_event(session, None, actor, "proxy.set", {"rule": rule.id, "moved": moved}, now)
    session.flush()
    return rule


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
    back = give_back(session, rule, actor, now)
    rule.reverted_at = now if back.complete else None  # else the job gives back the rest
    notify_handed_on(session, rule, back, now)
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
