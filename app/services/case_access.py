"""Case and task reads with their object-level checks, and the applicant's 撤回 of an application."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from app.models import Case, HumanTask, User
from app.services.audit import record_event
from app.services.case_views import may_view
from app.services.cases import get_case
from app.services.errors import Conflict, NotFound, PermissionDenied
from app.services.notifications import notify_many
from app.services.permissions import OVERSIGHT_ROLES
from app.services.proxies import acting_for
from app.services.task_rows import MAX_PER_PAGE, Page


def task_for_viewer(session: Session, task_id: int, actor: User, now: datetime) -> HumanTask:
    """A task the actor may see: theirs, offered to them, or of a case they may view (else 403)."""
    task = session.get(HumanTask, task_id)
    if task is None:
        raise NotFound("任务不存在 (no such task)")
    if task.state == "open":
        try:
            acting_for(session, actor, task, now)
            return task
        except PermissionDenied:
            pass
    if actor.id in (task.owner_id, task.completed_by_id) or may_view(session, actor, task.case):
        return task
    raise PermissionDenied("无权查看此任务 (not your task)")


def case_for_viewer(session: Session, number: str, actor: User) -> Case:
    """A case by number if the actor may see it (NotFound also for other applicants' cases)."""
    case = get_case(session, number)
    if not may_view(session, actor, case):
        raise NotFound("办件不存在 (no such case)")
    return case


def list_cases(session: Session, actor: User, page: int, per_page: int) -> Page[Case]:
    """My cases: originated by me or where I held a task; every case for oversight roles. Newest first."""
    page, per_page = max(1, page), min(max(1, per_page), MAX_PER_PAGE)
    query = select(Case)
    if not actor.role_codes() & OVERSIGHT_ROLES:
        took_part = exists().where(
            HumanTask.case_id == Case.id,
            or_(HumanTask.assignee_id == actor.id, HumanTask.completed_by_id == actor.id),
        )
        query = query.where(or_(Case.originator_id == actor.id, took_part))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Case.id.desc()).limit(per_page).offset((page - 1) * per_page))
    return Page(list(rows), page, per_page, total)


def withdraw_application(session: Session, case: Case, actor: User, now: datetime) -> Case:
    """撤回申请: the applicant withdraws while no one has started (nothing completed, nothing claimed)."""
    if case.originator_id != actor.id:
        raise PermissionDenied("只有申请人可以撤回申请 (only the applicant)")
    session.scalar(
        select(Case).where(Case.id == case.id).with_for_update().execution_options(populate_existing=True)
    )
    if case.status != "open":
        raise Conflict("办件已结束，不能撤回 (the case is not open)", {"status": case.status})
    tasks = list(session.scalars(select(HumanTask).where(HumanTask.case_id == case.id).with_for_update()))
    started = [
        t
        for t in tasks
        if t.completed_by_id not in (None, actor.id)
        or (t.state == "open" and t.assignee_id not in (None, actor.id))
    ]
    if started:
        who = sorted({person.display_name for t in started if (person := t.completed_by or t.assignee)})
        raise Conflict(f"已有工作人员开始办理，不能撤回：{'、'.join(who)}", {"acted_by": who})
    handlers = {t.assignee_id for t in tasks if t.state == "open" and t.assignee_id} - {actor.id}
    for task in tasks:
        if task.state == "open":
            task.state, task.completed_at = "cancelled", now
    case.status, case.closed_at, case.open_task_uuids, case.next_timer_at = "withdrawn", now, [], None
    case.updated_at = now
    record_event(session, case, actor, "case.withdrawn", {"cancelled": len(tasks)}, now)
    notify_many(
        session, sorted(handlers), "case.withdrawn", f"申请人已撤回 {case.number}", "", None, case.id, now
    )
    session.flush()
    return case
