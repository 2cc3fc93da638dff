"""委派 (delegate) and 转办 (transfer).

- 转办 hands the task over for good: the target becomes the assignee and completes it. The target must hold
  the task's candidate role; when the task names a candidate department the target must belong to it, except
  for leaders (分管领导 work across departments). Applicant tasks cannot be transferred.
- 委派 asks a colleague for an opinion: the delegate becomes the assignee and the delegator the owner.
  When the delegate "completes", their opinion is recorded on behalf of the owner and the task returns
  to the owner (no engine step); the owner then completes it for real. Any active staff member except
  the delegator may be a delegate; a delegated task cannot be delegated again until it comes back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.models import HumanTask, User
from app.services.audit import record_event
from app.services.directory import get_active_user, is_staff, task_link
from app.services.errors import Conflict, InvalidInput, PermissionDenied
from app.services.locking import MAX_OPINION_LENGTH, lock_open_task, record_opinion
from app.services.notifications import notify
from app.services.proxies import ON_BEHALF, acting_for

CROSS_DEPARTMENT_ROLES = frozenset({"leader"})


def _clean_text(value: str, field: str, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput("请填写理由", {field: "必须填写"})
    if len(text) > MAX_OPINION_LENGTH:
        raise InvalidInput("内容过长", {field: f"不能超过 {MAX_OPINION_LENGTH} 个字符"})
    return text


def _check_transfer_target(task: HumanTask, target: User, actor: User) -> None:
    if target.id == actor.id or target.id == task.assignee_id:
        raise InvalidInput("不能转办给当前办理人", {"to_user_id": "已是办理人"})
    if task.candidate_role in (None, "applicant"):
        raise Conflict("此任务不能转办 (only role tasks can be transferred)")
    role, department = task.candidate_role, task.candidate_department
    if role in CROSS_DEPARTMENT_ROLES:
        department = None
    if not target.has_role(role, department):
        where = f"{department} 部门的" if department else ""
        raise InvalidInput(f"转办对象必须是{where} {role} 角色人员", {"to_user_id": "不具备该步骤的角色"})


def transfer_task(
    session: Session, task_id: int, to_user_id: int, reason: str, actor: User, now: datetime
) -> HumanTask:
    """转办: the target becomes the assignee and continues the task; the reason is kept as an opinion."""
    task = lock_open_task(session, task_id)
    on_behalf = acting_for(session, actor, task, now)
    if task.owner_id is not None:
        raise Conflict("委派中的任务不能转办 (a delegated task cannot be transferred)")
    target = get_active_user(session, to_user_id)
    _check_transfer_target(task, target, actor)
    text = _clean_text(reason, "reason", required=True)
    task.assignee_id = target.id
    task.properties = {k: v for k, v in task.properties.items() if k != ON_BEHALF}
    record_opinion(session, task, actor, "transfer", f"转办给 {target.display_name}：{text}", now, on_behalf)
    record_event(session, task.case, actor, "task.transferred", {"task_id": task.id, "to": target.id}, now)
    title = f"{actor.display_name} 将「{task.name}」转办给您"
    notify(session, target.id, "task.transferred", title, text, task_link(task), task.case_id, now)
    session.flush()
    return task


def delegate_task(
    session: Session, task_id: int, to_user_id: int, note: str, actor: User, now: datetime
) -> HumanTask:
    """委派: the delegate gives an opinion, then the task comes back to the actor (its owner)."""
    task = lock_open_task(session, task_id)
    acting_for(session, actor, task, now)
    if task.owner_id is not None:
        raise Conflict("任务已在委派中 (already delegated)")
    if task.candidate_role == "applicant":
        raise Conflict("申请人的任务不能委派 (applicant tasks cannot be delegated)")
    target = get_active_user(session, to_user_id)
    if target.id == actor.id or not is_staff(target):
        raise InvalidInput("委派对象必须是其他工作人员", {"to_user_id": "无效的委派对象"})
    text = _clean_text(note, "note", required=False)
    task.owner_id, task.assignee_id = actor.id, target.id
    record_event(session, task.case, actor, "task.delegated", {"task_id": task.id, "to": target.id}, now)
    title = f"{actor.display_name} 请您就「{task.name}」提出意见（委派）"
    notify(session, target.id, "task.delegated", title, text, task_link(task), task.case_id, now)
    session.flush()
    return task


def finish_delegation(
    session: Session, task: HumanTask, data: Mapping[str, Any], actor: User, now: datetime
) -> HumanTask:
    """The delegate's answer: opinion on behalf of the owner, task back to the owner (no engine step)."""
    owner_id = task.owner_id
    assert owner_id is not None
    text = _clean_text(str(data.get("opinion") or ""), "opinion", required=True)
    decision = data.get(task.properties.get("decisionField", "decision"))
    record_opinion(session, task, actor, str(decision) if decision else "delegated", text, now, owner_id)
    task.assignee_id, task.owner_id = owner_id, None
    record_event(session, task.case, actor, "task.delegation_answered", {"task_id": task.id}, now)
    title = f"{actor.display_name} 已回复委派的「{task.name}」"
    notify(session, owner_id, "task.delegation_answered", title, text, task_link(task), task.case_id, now)
    session.flush()
    return task


def recall_delegation(session: Session, task_id: int, actor: User, now: datetime) -> HumanTask:
    """The owner takes a delegated task back before the delegate answered."""
    task = lock_open_task(session, task_id)
    if task.owner_id is None:
        raise Conflict("任务不在委派中 (not delegated)")
    if task.owner_id != actor.id:
        raise PermissionDenied("只有委派人可以收回 (only the delegator can recall)")
    delegate_id = task.assignee_id
    task.assignee_id, task.owner_id = actor.id, None
    record_event(session, task.case, actor, "task.delegation_recalled", {"task_id": task.id}, now)
    if delegate_id is not None:
        title = f"{actor.display_name} 已收回委派的「{task.name}」"
        notify(
            session, delegate_id, "task.delegation_recalled", title, "", task_link(task), task.case_id, now
        )
    session.flush()
    return task
