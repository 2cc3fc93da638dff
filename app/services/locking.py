"""Loading a task under lock, and the opinion log writer, shared by every task operation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, insert, or_, select
from sqlalchemy.orm import Session, contains_eager

from app.models import Case, HumanTask, Opinion, ProcessVersion, ProxyRule, User
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
# Does any vacation-proxy rule apply to the case's process right now? Read in the same statement as the
# lock (and so in the same transaction as the tasks it routes): new tasks skip the rule lookup when not.
_PROXIES_ACTIVE = (
    exists()
    .where(
        ProxyRule.cancelled_at.is_(None),
        ProxyRule.starts_at <= bindparam("now"),
        ProxyRule.ends_at > bindparam("now"),
        or_(ProxyRule.process_id.is_(None), ProxyRule.process_id == ProcessVersion.process_id),
    )
    .label("proxies_active")
)
_LOCK_FOR_STEP = _LOCK_TASK.add_columns(_PROXIES_ACTIVE)


def lock_task(session: Session, task_id: int) -> HumanTask:
    """Load a task with its case and version, locking the task and case rows (PostgreSQL) for this unit."""
    task = session.scalar(_LOCK_TASK, {"task_id": task_id})
    if task is None:
        raise NotFound("任务不存在 (no such task)")
    return task


def lock_open_task_for_step(session: Session, task_id: int, now: datetime) -> tuple[HumanTask, bool]:
    """lock_open_task, and whether a proxy rule is active for the case's process at `now` (same query)."""
    row = session.execute(_LOCK_FOR_STEP, {"task_id": task_id, "now": now}).first()
    if row is None:
        raise NotFound("任务不存在 (no such task)")
    task, proxies_active = row
    _check_open(task)
    return task, bool(proxies_active)


def already_handled(task: HumanTask) -> TaskAlreadyHandled:
    """The 409 for a task that is no longer open, naming who handled it."""
    who = task.completed_by.display_name if task.completed_by else None
    details = {"case": task.case.number, "state": task.state, "completed_by": who}
    return TaskAlreadyHandled("此任务已被处理 (this task was already handled)", details)


def lock_open_task(session: Session, task_id: int) -> HumanTask:
    """lock_task, then TaskAlreadyHandled unless the task and its case are open."""
    task = lock_task(session, task_id)
    _check_open(task)
    return task


def _check_open(task: HumanTask) -> None:
    if task.state != "open":
        raise already_handled(task)
    if task.case.status != "open":
        raise TaskAlreadyHandled("办件已结束或已暂停 (the case is not open)", {"case": task.case.number})


def opinion_row(
    task: HumanTask,
    actor: User,
    decision: str | None,
    text: str,
    now: datetime,
    on_behalf_of_id: int | None = None,
) -> dict[str, Any]:
    """The opinion row `record_opinion` inserts (for a caller that writes it with other rows)."""
    membership = next((m for m in actor.memberships if m.role.code == task.candidate_role), None)
    return {
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
    row = opinion_row(task, actor, decision, text, now, on_behalf_of_id)
    session.connection().execute(_INSERT_OPINION, row)
