"""Complaints (投诉) about a case or a department, routed to the supervision office."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Case, Complaint, Department, User
from app.services.audit import record_event
from app.services.directory import role_holders
from app.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from app.services.notifications import notify_many

MAX_CONTENT = 2000
SUPERVISION_ROLES = frozenset({"supervisor", "admin"})


def file_complaint(
    session: Session,
    actor: User,
    content: str,
    case_number: str | None,
    department_code: str | None,
    now: datetime,
) -> Complaint:
    """A signed-in user complains about one of their cases or a department; every supervisor is told."""
    content = content.strip()
    case, department = _targets(session, actor, content, case_number, department_code)
    if department is None and case is not None and case.service_item is not None:
        department = case.service_item.department
    complaint = Complaint(
        user_id=actor.id,
        case_id=case.id if case else None,
        department_id=department.id if department else None,
        content=content,
        status="open",
        created_at=now,
    )
    session.add(complaint)
    session.flush()
    record_event(session, case, actor, "complaint.filed", {"complaint": complaint.id}, now)
    about = case.number if case else department.name if department else ""
    supervisors = role_holders(session, "supervisor", None)
    notify_many(
        session,
        supervisors,
        "complaint",
        f"新投诉：{about}",
        content[:200],
        "/complaints",
        case.id if case else None,
        now,
    )
    return complaint


def _targets(
    session: Session, actor: User, content: str, case_number: str | None, department_code: str | None
) -> tuple[Case | None, Department | None]:
    """Validate the complaint; return the case (one of the actor's) and the department it is about."""
    errors: dict[str, str] = {}
    if not content:
        errors["content"] = "请填写投诉内容"
    elif len(content) > MAX_CONTENT:
        errors["content"] = f"不能超过 {MAX_CONTENT} 个字符"
    case = session.scalar(select(Case).where(Case.number == case_number)) if case_number else None
    if case_number and (case is None or case.originator_id != actor.id):
        errors["case_number"] = "只能投诉本人申请的办件"
    department = (
        session.scalar(select(Department).where(Department.code == department_code))
        if department_code
        else None
    )
    if department_code and department is None:
        errors["department"] = "部门不存在"
    if not case and not department and not {"case_number", "department"} & set(errors):
        errors["_form"] = "请选择投诉的办件或部门"
    if errors:
        raise InvalidInput("投诉填写有误", errors)
    return case, department


def _require_supervision(actor: User) -> None:
    if not actor.role_codes() & SUPERVISION_ROLES:
        raise PermissionDenied("只有监察室可以处理投诉")


def list_complaints(session: Session, actor: User, status: str | None = None) -> list[Complaint]:
    """Complaints for the supervision office, open first then newest."""
    _require_supervision(actor)
    query = select(Complaint)
    if status:
        query = query.where(Complaint.status == status)
    return list(
        session.scalars(query.order_by(Complaint.status.desc(), Complaint.created_at.desc()).limit(500))
    )


def my_complaints(session: Session, actor: User) -> list[Complaint]:
    """The actor's own complaints, newest first."""
    query = select(Complaint).where(Complaint.user_id == actor.id)
    return list(session.scalars(query.order_by(Complaint.created_at.desc()).limit(200)))


def handle_complaint(session: Session, complaint_id: int, actor: User, note: str, now: datetime) -> Complaint:
    """Mark a complaint handled and tell the complainant."""
    _require_supervision(actor)
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound("投诉不存在")
    if complaint.status == "handled":
        raise Conflict("此投诉已处理")
    complaint.status, complaint.handled_at = "handled", now
    case = session.get(Case, complaint.case_id) if complaint.case_id else None
    record_event(
        session, case, actor, "complaint.handled", {"complaint": complaint.id, "note": note[:500]}, now
    )
    notify_many(
        session,
        [complaint.user_id],
        "complaint.handled",
        "您的投诉已处理",
        note[:500],
        None,
        complaint.case_id,
        now,
    )
    session.flush()
    return complaint
