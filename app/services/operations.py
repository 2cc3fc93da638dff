"""Task operations beyond completion: 退回 (return to an earlier step), claim and unclaim."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.models import HumanTask, Opinion, User
from app.services.audit import record_event
from app.services.cases import lock_task
from app.services.errors import Conflict, InvalidInput, PermissionDenied, TaskAlreadyHandled, WorkflowFailed
from app.services.permissions import may_act
from app.services.projection import apply_result
from app.services.runtime import spec_ref, workflow_engine
from app.workflow import TaskNotReady


def return_targets(task: HumanTask) -> list[str]:
    """The BPMN ids this step may be returned to (its `returnTargets` property)."""
    raw = task.properties.get("returnTargets", "")
    return [target.strip() for target in raw.split(",") if target.strip()]


def _open_task_for(session: Session, task_id: int, actor: User) -> HumanTask:
    task = lock_task(session, task_id)
    if task.state != "open":
        raise TaskAlreadyHandled("此任务已被处理 (this task was already handled)", {"case": task.case.number})
    if not may_act(actor, task):
        raise PermissionDenied("您不是此任务的办理人 (you may not act on this task)")
    return task


def return_task(
    session: Session, task_id: int, target: str, reason: str, actor: User, now: datetime
) -> HumanTask:
    """退回: send the case back to a step listed in returnTargets; the reason is required and kept."""
    task = _open_task_for(session, task_id, actor)
    allowed = return_targets(task)
    if target not in allowed:
        raise InvalidInput("不允许退回到该步骤 (return to this step is not allowed)", {"allowed": allowed})
    if not reason.strip():
        raise InvalidInput("请填写退回理由", {"reason": "退回必须说明理由"})
    case = task.case
    try:
        result = workflow_engine().reset_to(spec_ref(case.process_version), case.state, target, now)
    except TaskNotReady as error:
        raise Conflict(f"无法退回到 {target}：该步骤尚未办理 (the step has not been done yet)") from error
    if result.status == "error":
        raise WorkflowFailed(f"退回失败：{result.error}")
    task.state, task.completed_by, task.completed_at, task.decision = "returned", actor, now, "return"
    apply_result(session, case, result, now, completed_uuid=task.task_uuid)
    session.add(
        Opinion(
            case_id=case.id,
            human_task_id=task.id,
            step_name=task.name,
            author=actor,
            role=task.candidate_role,
            department=task.candidate_department,
            decision="return",
            text=reason.strip()[:4000],
            created_at=now,
        )
    )
    record_event(session, case, actor, "task.returned", {"task": task.bpmn_id, "to": target}, now)
    session.flush()
    return task


def claim_task(session: Session, task_id: int, actor: User, now: datetime) -> HumanTask:
    """认领: take an offered task so that it is mine alone."""
    task = _open_task_for(session, task_id, actor)
    if task.assignee_id == actor.id:
        return task
    task.assignee_id = actor.id
    record_event(session, task.case, actor, "task.claimed", {"task": task.bpmn_id}, now)
    session.flush()
    return task


def unclaim_task(session: Session, task_id: int, actor: User, now: datetime) -> HumanTask:
    """取消认领: give a claimed task back to its candidates."""
    task = _open_task_for(session, task_id, actor)
    if task.assignee_id != actor.id or task.candidate_role in (None, "applicant"):
        raise Conflict("只能退回自己认领的任务 (only a task you claimed can be released)")
    task.assignee_id = None
    record_event(session, task.case, actor, "task.unclaimed", {"task": task.bpmn_id}, now)
    session.flush()
    return task
