"""加签 / 减签 (add / remove a signer) on a running step.

The engine facade (app/workflow) cannot add an instance to a running multi-instance activity, so:
- 加签 creates an extra HumanTask row (a countersign row: property `countersignFor` = the task_uuid of the
  task it belongs to) for one user or for a department (offered to that department's holders of the step's
  role, `approver` by default). The task cannot complete while any of its countersign rows is open
  (Conflict "等待加签人意见"). A countersign row is completed with an opinion and never reaches the engine;
  it is cancelled with its task when the flow moves away (退回, 撤回, boundary events).
- 减签 cancels a countersign row (by whoever added it, the task's handler or an administrator), or — for an
  open instance of a parallel multi-instance step (会签 over departments) — completes that instance in the
  engine with decision `removed`, so the step no longer waits for it. Removing an instance needs a
  leader, department head or administrator, and the last open instance cannot be removed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import uuid4

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import HumanTask, User
from app.services.audit import record_event
from app.services.directory import current_handlers, department_staff, get_active_user, is_staff, task_link
from app.services.errors import Conflict, InvalidInput, PermissionDenied, WorkflowFailed
from app.services.locking import lock_open_task, record_opinion
from app.services.notifications import notify_many
from app.services.projection import COUNTERSIGN_FOR, apply_result
from app.services.proxies import acting_for
from app.services.runtime import spec_ref, workflow_engine
from app.workflow import TaskNotReady

HAS_COUNTERSIGNS = "hasCountersigns"
ADDED_BY = "countersignAddedBy"
REMOVER_ROLES = frozenset({"leader", "dept_head", "admin"})
SignerRef = int | str  # a user id, or a department code


def _open_countersigns(session: Session, task: HumanTask) -> list[HumanTask]:
    query = select(HumanTask).where(
        HumanTask.case_id == task.case_id,
        HumanTask.state == "open",
        HumanTask.properties[COUNTERSIGN_FOR].as_string() == task.task_uuid,
    )
    return list(session.scalars(query))


def refuse_open_countersigns(session: Session, task: HumanTask) -> None:
    """Conflict while 加签 rows of `task` are still open (a query only if the task ever had any)."""
    if task.properties.get(HAS_COUNTERSIGNS) != "true":
        return
    pending = _open_countersigns(session, task)
    if pending:
        who = [row.assignee.display_name if row.assignee else row.candidate_department for row in pending]
        raise Conflict("等待加签人意见 (waiting for the added signers)", {"pending": who})


def _signer_fields(session: Session, task: HumanTask, signer: SignerRef, actor: User) -> dict[str, Any]:
    if isinstance(signer, int):
        user = get_active_user(session, signer)
        if user.id == actor.id or not is_staff(user):
            raise InvalidInput("加签人必须是其他工作人员", {"user_id": "无效的加签人"})
        return {"assignee_id": user.id, "candidate_role": None, "candidate_department": None}
    department = signer.strip()
    if not department_staff(session, [department]):
        raise InvalidInput("该部门没有工作人员", {"department": department})
    role = task.candidate_role if task.candidate_role not in (None, "applicant") else "approver"
    return {"assignee_id": None, "candidate_role": role, "candidate_department": department}


def add_signer(
    session: Session, task_id: int, signer: SignerRef, actor: User, now: datetime, note: str = ""
) -> HumanTask:
    """加签: one more person (user id) or department (code) must give an opinion before the task completes."""
    task = lock_open_task(session, task_id)
    acting_for(session, actor, task, now)
    if task.properties.get(COUNTERSIGN_FOR):
        raise Conflict("加签任务不能再加签 (a countersign cannot have countersigns)")
    fields = _signer_fields(session, task, signer, actor)
    for row in _open_countersigns(session, task):
        if (row.assignee_id, row.candidate_department) == (
            fields["assignee_id"],
            fields["candidate_department"],
        ):
            raise Conflict("已向该对象加签 (already added)")
    row = HumanTask(
        case_id=task.case_id,
        task_uuid=str(uuid4()),
        bpmn_id=task.bpmn_id,
        name=f"{task.name}（加签）"[:200],
        lane=None,
        form=None,
        properties={COUNTERSIGN_FOR: task.task_uuid, ADDED_BY: str(actor.id), "note": note.strip()[:500]},
        state="open",
        created_at=now,
        due_at=task.due_at,
        **fields,
    )
    session.add(row)
    task.properties = {**task.properties, HAS_COUNTERSIGNS: "true"}
    session.flush()
    detail = {"task_id": task.id, "countersign_id": row.id, "signer": signer}
    record_event(session, task.case, actor, "task.signer_added", detail, now)
    title = f"{actor.display_name} 请您会签「{task.name}」（加签）"
    notify_many(
        session,
        current_handlers(session, row),
        "task.signer_added",
        title,
        note,
        task_link(row),
        task.case_id,
        now,
    )
    return row


def finish_countersign(
    session: Session, row: HumanTask, data: Mapping[str, Any], actor: User, now: datetime
) -> HumanTask:
    """The added signer's opinion closes their countersign row (no engine step)."""
    text = str(data.get("opinion") or "").strip()
    if not text:
        raise InvalidInput("请填写会签意见", {"opinion": "加签必须填写意见"})
    decision = str(data.get("decision") or "countersigned")
    record_opinion(session, row, actor, decision, text, now)
    row.state, row.completed_by_id, row.completed_at, row.decision = "completed", actor.id, now, decision[:40]
    if row.assignee_id is None:
        row.assignee_id = actor.id
    record_event(session, row.case, actor, "task.countersigned", {"task_id": row.id}, now)
    parent = session.scalar(
        select(HumanTask).where(
            HumanTask.case_id == row.case_id,
            HumanTask.task_uuid == row.properties[COUNTERSIGN_FOR],
            HumanTask.state == "open",
        )
    )
    if parent is not None:
        title = f"{actor.display_name} 已提交「{parent.name}」的加签意见"
        notify_many(
            session,
            current_handlers(session, parent),
            "task.countersigned",
            title,
            text,
            task_link(parent),
            row.case_id,
            now,
        )
    session.flush()
    return row


def remove_signer(session: Session, task_id: int, actor: User, now: datetime, reason: str = "") -> HumanTask:
    """减签: cancel a countersign row, or complete one open multi-instance instance as `removed`."""
    task = lock_open_task(session, task_id)
    if task.properties.get(COUNTERSIGN_FOR):
        return _cancel_countersign(session, task, actor, now, reason)
    return _remove_instance(session, task, actor, now, reason)


def _cancel_countersign(
    session: Session, row: HumanTask, actor: User, now: datetime, reason: str
) -> HumanTask:
    parent = session.scalar(
        select(HumanTask)
        .where(HumanTask.case_id == row.case_id, HumanTask.task_uuid == row.properties[COUNTERSIGN_FOR])
        .order_by(HumanTask.id.desc())
    )
    allowed = row.properties.get(ADDED_BY) == str(actor.id) or actor.has_role("admin")
    if not allowed and (parent is None or parent.assignee_id != actor.id):
        raise PermissionDenied("只有加签人或办理人可以减签 (only who added the signer)")
    handlers = current_handlers(session, row)
    row.state, row.completed_at, row.decision = "cancelled", now, "removed"
    record_event(session, row.case, actor, "task.signer_removed", {"task_id": row.id, "reason": reason}, now)
    notify_many(
        session,
        handlers,
        "task.signer_removed",
        f"「{row.name}」已撤销（减签）",
        reason,
        None,
        row.case_id,
        now,
    )
    session.flush()
    return row


def _remove_instance(session: Session, task: HumanTask, actor: User, now: datetime, reason: str) -> HumanTask:
    if not actor.role_codes() & REMOVER_ROLES:
        raise PermissionDenied("减签需要分管领导、部门负责人或管理员 (leaders only)")
    siblings = session.scalar(
        select(func.count(HumanTask.id)).where(
            HumanTask.case_id == task.case_id,
            HumanTask.state == "open",
            HumanTask.bpmn_id == task.bpmn_id,
            HumanTask.id != task.id,
            HumanTask.properties[COUNTERSIGN_FOR].as_string().is_(None),
        )
    )
    if not siblings:
        raise Conflict("只能减去并行会签中的一个实例，且不能减去最后一个 (not a removable instance)")
    if not reason.strip():
        raise InvalidInput("请填写减签理由", {"reason": "必须填写"})
    case = task.case
    field = task.properties.get("decisionField", "decision")
    try:
        result = workflow_engine().complete(
            spec_ref(case.process_version), case.state, task.task_uuid, {field: "removed"}, now
        )
    except TaskNotReady as error:
        raise Conflict("该实例已无法减签 (the instance is no longer open)") from error
    if result.status == "error":
        raise WorkflowFailed(f"减签失败：{result.error}")
    handlers = current_handlers(session, task)
    task.state, task.completed_by_id, task.completed_at, task.decision = "completed", actor.id, now, "removed"
    apply_result(session, case, result, now, completed_uuid=task.task_uuid)
    record_opinion(session, task, actor, "removed", f"减签：{reason.strip()}", now)
    record_event(session, case, actor, "task.signer_removed", {"task_id": task.id, "reason": reason}, now)
    notify_many(
        session, handlers, "task.signer_removed", f"「{task.name}」已减签", reason, None, case.id, now
    )
    session.flush()
    return task
