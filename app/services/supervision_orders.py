"""督办: supervision orders to a department — issue, reply, close, escalate blue → orange → red.

An order still unanswered after its deadline earns the case a red card in the deadline scan.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Case, Department, Membership, Role, SupervisionOrder, User
from app.services.audit import record_event
from app.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from app.services.events import emit_supervision_order
from app.services.notifications import notify_many

LEVELS = ("blue", "orange", "red")
LEVEL_NAMES = {"blue": "蓝色", "orange": "橙色", "red": "红色"}
MAX_INSTRUCTION = 4000


def _require_supervisor(actor: User) -> None:
    if not actor.has_role("supervisor"):
        raise PermissionDenied("只有监察人员可以督办 (supervisor only)")


def _order(session: Session, order_id: int) -> SupervisionOrder:
    order = session.get(SupervisionOrder, order_id)
    if order is None:
        raise NotFound("督办单不存在 (no such order)")
    return order


def _audit(session: Session, order: SupervisionOrder, actor: User, action: str, now: datetime) -> None:
    case = session.get(Case, order.case_id) if order.case_id is not None else None
    detail = {
        "order": order.id,
        "department": order.department.code,
        "level": order.level,
        "status": order.status,
    }
    record_event(session, case, actor, action, detail, now)


def _notify(
    session: Session, user_ids: list[int], order: SupervisionOrder, title: str, now: datetime
) -> None:
    """In-app notice to the people concerned (站内消息)."""
    notify_many(session, user_ids, "supervision_order", title, order.instruction, None, order.case_id, now)


def _department_heads(session: Session, department_id: int) -> list[int]:
    query = (
        select(Membership.user_id)
        .join(Role, Role.id == Membership.role_id)
        .where(Role.code == "dept_head", Membership.department_id == department_id)
    )
    return list(session.scalars(query))


def issue_order(
    session: Session,
    case_id: int | None,
    department_code: str,
    instruction: str,
    deadline: datetime,
    actor: User,
    now: datetime,
) -> SupervisionOrder:
    """Issue a blue order to a department (optionally about one case) with a reply deadline."""
    _require_supervisor(actor)
    errors: dict[str, str] = {}
    department = session.scalar(select(Department).where(Department.code == department_code))
    if department is None:
        errors["department_code"] = "请选择被督办部门"
    text = (instruction or "").strip()
    if not text:
        errors["instruction"] = "请填写督办要求"
    elif len(text) > MAX_INSTRUCTION:
        errors["instruction"] = f"督办要求不能超过 {MAX_INSTRUCTION} 个字符"
    if deadline.tzinfo is None or deadline <= now:
        errors["deadline"] = "办理期限须晚于当前时间"
    if case_id is not None and session.get(Case, case_id) is None:
        errors["case_id"] = "办件不存在"
    if errors or department is None:
        raise InvalidInput("督办单填写有误", errors)
    order = SupervisionOrder(
        case_id=case_id,
        department=department,
        instruction=text,
        deadline=deadline,
        level="blue",
        status="open",
        issued_by_id=actor.id,
        issued_at=now,
    )
    session.add(order)
    session.flush()
    _audit(session, order, actor, "supervision.order_issued", now)
    emit_supervision_order(session, order, "issued", now)
    _notify(session, _department_heads(session, department.id), order, f"督办：{department.name}", now)
    return order


def reply_order(session: Session, order_id: int, reply: str, actor: User, now: datetime) -> SupervisionOrder:
    """The head of the ordered department replies (办理情况); the order waits for closure."""
    order = _order(session, order_id)
    if not actor.has_role("dept_head", order.department.code):
        raise PermissionDenied("只有被督办部门的负责人可以答复 (dept_head of that department only)")
    if order.status != "open":
        raise Conflict("督办单已答复或已办结 (the order is not open)")
    text = (reply or "").strip()
    if not text:
        raise InvalidInput("请填写办理情况", {"reply": "请填写办理情况"})
    order.reply, order.replied_by_id, order.replied_at, order.status = (
        text[:MAX_INSTRUCTION],
        actor.id,
        now,
        "replied",
    )
    session.flush()
    _audit(session, order, actor, "supervision.order_replied", now)
    emit_supervision_order(session, order, "replied", now)
    _notify(session, [order.issued_by_id], order, "督办单已答复", now)
    return order


def close_order(session: Session, order_id: int, actor: User, now: datetime) -> SupervisionOrder:
    """The supervision office closes the order (办结)."""
    _require_supervisor(actor)
    order = _order(session, order_id)
    if order.status == "closed":
        raise Conflict("督办单已办结 (already closed)")
    order.status, order.closed_at = "closed", now
    session.flush()
    _audit(session, order, actor, "supervision.order_closed", now)
    emit_supervision_order(session, order, "closed", now)
    return order


def escalate_order(session: Session, order_id: int, actor: User, now: datetime) -> SupervisionOrder:
    """Raise the order one level: blue → orange → red."""
    _require_supervisor(actor)
    order = _order(session, order_id)
    if order.status == "closed":
        raise Conflict("督办单已办结，不能升级 (closed)")
    position = LEVELS.index(order.level) if order.level in LEVELS else 0
    if position == len(LEVELS) - 1:
        raise Conflict("督办已是最高级别（红色） (already red)")
    order.level = LEVELS[position + 1]
    session.flush()
    _audit(session, order, actor, "supervision.order_escalated", now)
    emit_supervision_order(session, order, "escalated", now)
    title = f"督办升级为{LEVEL_NAMES[order.level]}：{order.department.name}"
    _notify(session, _department_heads(session, order.department_id), order, title, now)
    return order
