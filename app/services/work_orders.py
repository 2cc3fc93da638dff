"""12345 工单: the operator opens a work order from a call; the list with department, due date and 退单."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Case, HumanTask, User
from app.services.case_views import may_view
from app.services.cases import start_case
from app.services.errors import InvalidInput, PermissionDenied

PROCESS_ID = "hotline_work_order"
CATEGORIES = ("咨询", "求助", "投诉", "建议", "表扬")
LIMIT_DAYS = {"咨询": 3, "投诉": 13}  # working days from 签收; everything else 7 (DESIGN §4)
DEFAULT_LIMIT_DAYS = 7
MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")
SEE_ALL_ROLES = frozenset({"operator", "arbiter", "supervisor", "admin"})
MAX_ROWS = 200
MAX_TEXT = 2000


@dataclass(frozen=True)
class WorkOrderCall:
    """What the operator records from a call."""

    caller_name: str
    phone: str
    category: str
    content: str
    location: str
    suggested_dept: str | None


@dataclass(frozen=True)
class WorkOrderRow:
    """One work order in the list."""

    case: Case
    step: str | None
    department: str | None
    due_at: datetime | None
    limit_days: int
    returns: int


def normalize_phone(raw: str) -> str | None:
    """A Chinese mobile (13800138000) or landline (0571-87654321, optional extension) number, else None."""
    phone = re.sub(r"[\s()（）]", "", raw or "").removeprefix("+86")
    return phone if MOBILE.match(phone) or LANDLINE.match(phone) else None


def limit_days(category: str | None) -> int:
    """The handling limit of a category, in working days from 签收."""
    return LIMIT_DAYS.get(category or "", DEFAULT_LIMIT_DAYS)


def _check(call: WorkOrderCall) -> tuple[str, dict[str, str]]:
    errors: dict[str, str] = {}
    phone = normalize_phone(call.phone)
    if phone is None:
        errors["phone"] = "请输入有效的手机号或固定电话（如 13800138000、0571-87654321）"
    if call.category not in CATEGORIES:
        errors["category"] = "请选择诉求类别"
    if not call.content.strip():
        errors["content"] = "必填"
    elif len(call.content) > MAX_TEXT:
        errors["content"] = f"不能超过 {MAX_TEXT} 个字符"
    return phone or "", errors


def open_work_order(session: Session, call: WorkOrderCall, actor: User, now: datetime) -> Case:
    """受理: start hotline_work_order with the call pre-filling the intake form (operators only)."""
    if not actor.has_role("operator"):
        raise PermissionDenied("只有 12345 话务员可以登记工单 (operators only)")
    phone, errors = _check(call)
    if errors:
        raise InvalidInput("表单填写有误，请修改后重新提交", errors)
    data = {
        "caller_name": call.caller_name.strip(),
        "phone": phone,
        "category": call.category,
        "content": call.content.strip(),
        "location": call.location.strip(),
    }
    meta = {**data, "suggested_dept": call.suggested_dept or ""}
    if call.suggested_dept:
        data["dept"] = call.suggested_dept  # pre-fills the 派单 form
    title = f"{call.category}：{data['content'][:40]}"
    return start_case(session, PROCESS_ID, data, actor, now, kind="work_order", title=title, meta=meta)


def _rows(session: Session, cases: list[Case]) -> list[WorkOrderRow]:
    tasks: dict[int, list[HumanTask]] = defaultdict(list)
    if cases:
        query = select(HumanTask).where(HumanTask.case_id.in_([c.id for c in cases])).order_by(HumanTask.id)
        for task in session.scalars(query):
            tasks[task.case_id].append(task)
    rows = []
    for case in cases:
        mine = tasks[case.id]
        current = next((t for t in mine if t.state == "open"), None)
        handled = [t.candidate_department for t in mine if t.candidate_department]
        returns = sum(1 for t in mine if t.bpmn_id == "sign_order" and t.decision == "reject")
        category = (case.data or {}).get("category")
        rows.append(
            WorkOrderRow(
                case=case,
                step=current.name if current else None,
                department=(current.candidate_department if current else None)
                or (handled[-1] if handled else None)
                or ((case.data or {}).get("suggested_dept") or None),
                due_at=current.due_at if current else None,
                limit_days=limit_days(str(category) if category else None),
                returns=returns,
            )
        )
    return rows


def list_work_orders(session: Session, actor: User, status: str | None = None) -> list[WorkOrderRow]:
    """Work orders the actor may see (12345 staff: all; departments: theirs), newest first."""
    query = select(Case).where(Case.kind == "work_order").order_by(Case.id.desc()).limit(MAX_ROWS * 5)
    if status in ("open", "completed", "terminated"):
        query = query.where(Case.status == status)
    cases = list(session.scalars(query))
    if not actor.role_codes() & SEE_ALL_ROLES:
        cases = [case for case in cases if may_view(session, actor, case)]
    return _rows(session, cases[:MAX_ROWS])
