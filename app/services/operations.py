"""Task operations beyond completion: 退回, claim / unclaim, 撤回 (withdraw my completion), 催办 (urge)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.models import AuditEvent, HumanTask, ProcessVersion, User
from app.services.audit import record_event
from app.services.directory import current_handlers, display_names, task_link
from app.services.errors import Conflict, InvalidInput, PermissionDenied, WorkflowFailed
from app.services.locking import MAX_OPINION_LENGTH, lock_open_task, lock_task, record_opinion
from app.services.notifications import notify_many
from app.services.permissions import OVERSIGHT_ROLES
from app.services.projection import apply_result, cancel_countersigns
from app.services.proxies import acting_for
from app.services.runtime import spec_ref, workflow_engine
from app.services.withdrawals import check_withdrawals, completed_step
from app.workflow import Result, TaskNotReady

URGE_INTERVAL = timedelta(hours=1)


def return_targets(task: HumanTask) -> list[str]:
    """The BPMN ids this step may be returned to (its `returnTargets` property)."""
    raw = task.properties.get("returnTargets", "")
    return [target.strip() for target in raw.split(",") if target.strip()]


def _open_task_for(
    session: Session, task_id: int, actor: User, now: datetime
) -> tuple[HumanTask, int | None]:
    task = lock_open_task(session, task_id)
    return task, acting_for(session, actor, task, now)


def return_task(
    session: Session, task_id: int, target: str, reason: str, actor: User, now: datetime
) -> HumanTask:
    """退回: send the case back to a step listed in returnTargets; the reason is required and kept."""
    task, on_behalf = _open_task_for(session, task_id, actor, now)
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
    cancel_countersigns(session, case.id, {task.task_uuid}, now)
    record_opinion(session, task, actor, "return", reason, now, on_behalf)
    record_event(
        session, case, actor, "task.returned", {"task": task.bpmn_id, "task_id": task.id, "to": target}, now
    )
    session.flush()
    return task


def claim_task(session: Session, task_id: int, actor: User, now: datetime) -> HumanTask:
    """认领: take an offered task so that it is mine alone."""
    task, _ = _open_task_for(session, task_id, actor, now)
    if task.assignee_id == actor.id:
        return task
    if task.assignee_id is not None:  # a proxy substitute acts on the principal's task without taking it
        raise Conflict("任务已有办理人 (the task is already assigned)")
    task.assignee_id = actor.id
    record_event(session, task.case, actor, "task.claimed", {"task": task.bpmn_id, "task_id": task.id}, now)
    session.flush()
    return task


def unclaim_task(session: Session, task_id: int, actor: User, now: datetime) -> HumanTask:
    """取消认领: give a claimed task back to its candidates."""
    task, _ = _open_task_for(session, task_id, actor, now)
    if task.assignee_id != actor.id or task.candidate_role in (None, "applicant") or task.owner_id:
        raise Conflict("只能退回自己认领的任务 (only a task you claimed can be released)")
    task.assignee_id = None
    record_event(session, task.case, actor, "task.unclaimed", {"task": task.bpmn_id, "task_id": task.id}, now)
    session.flush()
    return task


def withdraw_completion(session: Session, task_id: int, actor: User, now: datetime) -> HumanTask:
    """撤回: undo my last completion while the steps it created are open and untouched; reopen it for me."""
    task = lock_task(session, task_id)
    check = check_withdrawals(session, [completed_step(task)], actor)[task.id]
    if check.refusal == "not_mine":
        raise PermissionDenied("只能撤回自己办理的任务 (only your own completion)")
    case = task.case
    if check.refusal == "moved_on":
        raise Conflict(
            "此任务无法撤回 (nothing to withdraw: the case moved on or ended)", {"case": case.number}
        )
    if check.refusal == "acted":
        acted = sorted(display_names(session, check.acted_by).values())
        raise Conflict(f"后续办理人已处理，无法撤回：{'、'.join(acted)}", {"acted_by": acted})
    next_uuids = set(check.next_uuids)
    result = _reset_to_mine(
        case.process_version, case.state, task, set(case.open_task_uuids), next_uuids, now
    )
    handlers = {uid for t in check.next_tasks for uid in current_handlers(session, t)}
    apply_result(session, case, result, now)
    reopened = session.scalars(
        select(HumanTask).where(
            HumanTask.case_id == case.id, HumanTask.task_uuid == task.task_uuid, HumanTask.state == "open"
        )
    ).one()
    reopened.assignee_id, task.state = actor.id, "withdrawn"
    record_event(session, case, actor, "task.withdrawn", {"task_id": task.id, "reopened": reopened.id}, now)
    title = f"{actor.display_name} 撤回了「{task.name}」，相关待办已取消"
    notify_many(session, handlers - {actor.id}, "task.withdrawn", title, "", None, case.id, now)
    session.flush()
    return reopened


def _reset_to_mine(
    version: ProcessVersion,
    state: str,
    task: HumanTask,
    open_before: set[str],
    next_uuids: set[str],
    now: datetime,
) -> Result:
    try:
        result = workflow_engine().reset_to(spec_ref(version), state, task.task_uuid, now)
    except TaskNotReady as error:
        raise Conflict("此任务无法撤回 (the engine no longer has it)") from error
    if result.status == "error":
        raise WorkflowFailed(f"撤回失败：{result.error}")
    expected = (open_before - next_uuids) | {task.task_uuid}
    if {info.task_id for info in result.ready} != expected:
        raise Conflict("撤回会影响其他并行步骤，请改用退回 (other branches would be reset)")
    return result


def _may_urge(session: Session, task: HumanTask, actor: User) -> bool:
    if task.case.originator_id == actor.id or actor.role_codes() & (OVERSIGHT_ROLES | {"leader"}):
        return True
    took_part = exists().where(HumanTask.case_id == task.case_id, HumanTask.completed_by_id == actor.id)
    return bool(session.scalar(select(took_part)))


def urge_task(session: Session, task_id: int, note: str, actor: User, now: datetime) -> list[int]:
    """催办: remind the current handler(s) of an open task; at most once an hour per person; return who."""
    task = lock_open_task(session, task_id)
    if not _may_urge(session, task, actor):
        raise PermissionDenied("无权催办此任务 (not a participant of this case)")
    recent = session.scalars(
        select(AuditEvent).where(
            AuditEvent.case_id == task.case_id,
            AuditEvent.action == "task.urged",
            AuditEvent.actor_id == actor.id,
            AuditEvent.created_at > now - URGE_INTERVAL,
        )
    )
    if any(e.detail.get("task_id") == task.id for e in recent):
        raise Conflict("一小时内已催办过 (already urged within the hour)")
    handlers = current_handlers(session, task)
    if not handlers:
        raise Conflict("此任务当前无人可催办 (nobody holds this task)")
    text = note.strip()[:MAX_OPINION_LENGTH]
    title = f"{actor.display_name} 催办「{task.case.title}」的「{task.name}」"
    notify_many(session, handlers, "task.urged", title, text, task_link(task), task.case_id, now)
    record_event(session, task.case, actor, "task.urged", {"task_id": task.id, "to": handlers}, now)
    session.flush()
    return handlers
