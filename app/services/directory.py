"""Who is who for task operations: active staff, role holders, department members, display names."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Department, HumanTask, Membership, Role, User
from app.services.errors import InvalidInput, NotFound

MAX_RECIPIENTS = 200


def get_active_user(session: Session, user_id: int) -> User:
    """An active user by id, or NotFound."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise NotFound("用户不存在或已停用 (no such active user)", {"user_id": user_id})
    return user


def is_staff(user: User) -> bool:
    """Staff hold at least one role other than applicant."""
    return bool(user.role_codes() - {"applicant"})


def role_holders(
    session: Session, role: str, department: str | None, limit: int = MAX_RECIPIENTS
) -> list[int]:
    """Ids of active users holding `role` (in `department` when given), in one query."""
    query = (
        select(Membership.user_id)
        .join(Role, Role.id == Membership.role_id)
        .join(User, User.id == Membership.user_id)
        .where(Role.code == role, User.active.is_(True))
        .distinct()
        .limit(limit)
    )
    if department is not None:
        query = query.join(Department, Department.id == Membership.department_id).where(
            Department.code == department
        )
    return list(session.scalars(query))


def department_staff(session: Session, codes: Iterable[str]) -> list[int]:
    """Ids of active staff members of the given departments; NotFound for an unknown code."""
    wanted = sorted({code.strip() for code in codes if code.strip()})
    if not wanted:
        return []
    known = set(session.scalars(select(Department.code).where(Department.code.in_(wanted))))
    unknown = [code for code in wanted if code not in known]
    if unknown:
        raise NotFound("部门不存在 (unknown department)", {"departments": unknown})
    query = (
        select(Membership.user_id)
        .join(Department, Department.id == Membership.department_id)
        .join(Role, Role.id == Membership.role_id)
        .join(User, User.id == Membership.user_id)
        .where(Department.code.in_(wanted), Role.code != "applicant", User.active.is_(True))
        .distinct()
        .limit(MAX_RECIPIENTS + 1)
    )
    ids = list(session.scalars(query))
    if len(ids) > MAX_RECIPIENTS:
        raise InvalidInput(f"接收人过多（最多 {MAX_RECIPIENTS} 人）", {"departments": wanted})
    return ids


def current_handlers(session: Session, task: HumanTask) -> list[int]:
    """Who holds the task now: its assignee, else every user of its candidate role and department."""
    if task.assignee_id is not None:
        return [task.assignee_id]
    if task.candidate_role is None:
        return []
    return role_holders(session, task.candidate_role, task.candidate_department)


def display_names(session: Session, user_ids: Iterable[int]) -> dict[int, str]:
    """Display names by id, in one query."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return {row.id: row.display_name for row in rows}


def task_link(task: HumanTask) -> str:
    """The in-app address of a task (the pages colleague serves /tasks/<id>)."""
    return f"/tasks/{task.id}"
