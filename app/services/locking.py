"""Loading a task under lock, and the opinion log writer, shared by every task operation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session, contains_eager

from app.models import Case, HumanTask, Opinion, User
from app.services.errors import NotFound, TaskAlreadyHandled

MAX_OPINION_LENGTH = 4000

_LOCK_TASK = (
    select(HumanTask)
    .join(HumanTask.case)
    .join(Case.process_version)
    .options(contains_eager(HumanTask.case).contains_eager(Case.process_version))
    .where(HumanTask.id == bindparam("task_id"))
    .with_for_update(of=[HumanTask, Case])
    .execution_options(populate_existing=True)
)
_INSERT_OPINION = insert(Opinion)


def lock_task(session: Session, task_id: int) -> HumanTask:
    """Load a task with its case and version, locking the task and case rows (PostgreSQL) for this unit."""
    task = session.scalar(_LOCK_TASK, {"task_id": task_id})
    if task is None:
        raise NotFound("任务不存在 (no such task)")
    return task


def already_handled(task: HumanTask) -> TaskAlreadyHandled:
    """The 409 for a task that is no longer open, naming who handled it."""
    who = task.completed_by.display_name if task.completed_by else None
    details = {"case": task.case.number, "state": task.state, "completed_by": who}
    return TaskAlreadyHandled("此任务已被处理 (this task was already handled)", details)


def lock_open_task(session: Session, task_id: int) -> HumanTask:
    """lock_task, then TaskAlreadyHandled unless the task and its case are open."""
    task = lock_task(session, task_id)
    if task.state != "open":
        raise already_handled(task)
    if task.case.status != "open":
        raise TaskAlreadyHandled("办件已结束或已暂停 (the case is not open)", {"case": task.case.number})
    return task


def record_opinion(
    session: Session,
    task: HumanTask,
    actor: User,
    decision: str | None,
    text: str,
    now: datetime,
    on_behalf_of_id: int | None = None,
) -> None:
    """Append one opinion (plain text, never HTML-interpreted) to the append-only log."""
    membership = next((m for m in actor.memberships if m.role.code == task.candidate_role), None)
    params = {
        "case_id": task.case_id,
        "human_task_id": task.id,
        "step_name": task.name,
        "author_id": actor.id,
        "on_behalf_of_id": on_behalf_of_id,
        "role": task.candidate_role,
        "department": membership.department_code if membership else task.candidate_department,
        "decision": decision[:40] if decision is not None else None,
        "text": text.strip()[:MAX_OPINION_LENGTH],
        "created_at": now,
    }
    session.connection().execute(_INSERT_OPINION, params)
