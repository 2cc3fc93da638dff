"""抄送 (copy a case for information) and read tracking."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.models import Case, HumanTask, TaskCopy, User
from app.services.audit import record_event
from app.services.directory import MAX_RECIPIENTS, department_staff, get_active_user
from app.services.errors import InvalidInput, NotFound, PermissionDenied
from app.services.notifications import notify_many
from app.services.permissions import OVERSIGHT_ROLES

MAX_NOTE = 500


def is_participant(session: Session, case: Case, user: User) -> bool:
    """Originator, or anyone who holds, held, owns or was copied on a task of the case."""
    if case.originator_id == user.id:
        return True
    took_part = exists().where(
        HumanTask.case_id == case.id,
        (HumanTask.assignee_id == user.id)
        | (HumanTask.completed_by_id == user.id)
        | (HumanTask.owner_id == user.id),
    )
    copied = exists().where(TaskCopy.case_id == case.id, TaskCopy.user_id == user.id)
    return bool(session.scalar(select(took_part | copied)))


def _recipients(
    session: Session, user_ids: Iterable[int], departments: Iterable[str], actor: User
) -> list[int]:
    ids = [get_active_user(session, int(uid)).id for uid in dict.fromkeys(user_ids)]
    ids += department_staff(session, departments)
    unique = [uid for uid in dict.fromkeys(ids) if uid != actor.id]
    if not unique:
        raise InvalidInput("请选择抄送对象", {"recipients": "至少一人（不含本人）"})
    if len(unique) > MAX_RECIPIENTS:
        raise InvalidInput(f"抄送对象过多（最多 {MAX_RECIPIENTS} 人）", {"recipients": "过多"})
    return unique


def copy_case(
    session: Session,
    case_id: int,
    user_ids: Iterable[int],
    departments: Iterable[str],
    note: str,
    actor: User,
    now: datetime,
    task_id: int | None = None,
) -> list[TaskCopy]:
    """抄送: copy a case (optionally from one of its tasks) to users and/or departments' staff."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("办件不存在 (no such case)")
    if not (is_participant(session, case, actor) or actor.role_codes() & OVERSIGHT_ROLES):
        raise PermissionDenied("只有办件参与人可以抄送 (participants only)")
    if (
        task_id is not None
        and session.scalar(select(HumanTask.id).where(HumanTask.id == task_id, HumanTask.case_id == case.id))
        is None
    ):
        raise InvalidInput("任务不属于该办件", {"task_id": task_id})
    if len(note) > MAX_NOTE:
        raise InvalidInput("附言过长", {"note": f"不能超过 {MAX_NOTE} 个字符"})
    already = set(
        session.scalars(
            select(TaskCopy.user_id).where(TaskCopy.case_id == case.id, TaskCopy.read_at.is_(None))
        )
    )
    targets = [uid for uid in _recipients(session, user_ids, departments, actor) if uid not in already]
    copies = [
        TaskCopy(
            case_id=case.id,
            human_task_id=task_id,
            user_id=uid,
            from_user_id=actor.id,
            note=note.strip(),
            created_at=now,
        )
        for uid in targets
    ]
    session.add_all(copies)
    session.flush()
    title = f"{actor.display_name} 抄送给您：{case.title}（{case.number}）"
    notify_many(session, targets, "case.copied", title, note.strip(), f"/cases/{case.number}", case.id, now)
    record_event(session, case, actor, "case.copied", {"to": targets, "task_id": task_id}, now)
    return copies


def mark_copy_read(session: Session, copy_id: int, actor: User, now: datetime) -> TaskCopy:
    """Mark a copy as read by its recipient (idempotent)."""
    copy = session.get(TaskCopy, copy_id)
    if copy is None:
        raise NotFound("抄送不存在 (no such copy)")
    if copy.user_id != actor.id:
        raise PermissionDenied("这不是抄送给您的 (not your copy)")
    if copy.read_at is None:
        copy.read_at = now
        session.flush()
    return copy
