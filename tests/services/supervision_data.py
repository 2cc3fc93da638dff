"""Rows for the supervision tests, written directly (no engine): cases, tasks, items, opinions."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.models import Case, HumanTask, Opinion, ProcessVersion, ServiceItem, User
from app.services.accounts import ensure_department
from tests.services.helpers import deploy_fixture

__all__ = ["deploy_fixture"]

_numbers = itertools.count(1)


def version(session: Session, now: datetime) -> ProcessVersion:
    """A deployed process version the cases can point at."""
    return deploy_fixture(session, "mini_timer", now)


def item(session: Session, promised: int = 5, statutory: int = 20, **fields: Any) -> ServiceItem:
    """A catalogue item of department `market`."""
    n = next(_numbers)
    department = ensure_department(session, "market", "市场监管局")
    values: dict[str, Any] = {
        "code": f"T-{n:04d}",
        "name": f"测试事项{n}",
        "item_type": "行政许可",
        "materials": [],
        "statutory_limit_days": statutory,
        "promised_limit_days": promised,
        "special_steps": [],
        "process_id": "mini_timer",
        "mode": "tolerant",
        "member_departments": [],
        "settings": {},
        "faq": [],
    }
    values.update(fields)
    row = ServiceItem(department=department, **values)
    session.add(row)
    session.flush()
    return row


def case(
    session: Session,
    pv: ProcessVersion,
    created: datetime,
    *,
    status: str = "open",
    kind: str = "application",
    service_item: ServiceItem | None = None,
    closed: datetime | None = None,
    data: dict[str, Any] | None = None,
) -> Case:
    """A case row without a running workflow."""
    row = Case(
        number=f"GF-T-{next(_numbers):06d}-{uuid.uuid4().hex[:6]}",
        kind=kind,
        title="测试办件",
        process_version=pv,
        status=status,
        state="{}",
        data=data or {},
        open_task_uuids=[],
        created_at=created,
        updated_at=created,
        closed_at=closed,
        service_item=service_item,
    )
    session.add(row)
    session.flush()
    return row


def task(
    session: Session,
    case_row: Case,
    created: datetime,
    due: datetime | None,
    *,
    name: str = "部门审查",
    state: str = "open",
    completed: datetime | None = None,
    properties: dict[str, str] | None = None,
    department: str | None = "market",
    decision: str | None = None,
    bpmn_id: str = "review",
) -> HumanTask:
    """A projected human task."""
    row = HumanTask(
        case_id=case_row.id,
        task_uuid=str(uuid.uuid4()),
        bpmn_id=bpmn_id,
        name=name,
        lane="approver",
        candidate_role="approver",
        candidate_department=department,
        properties=properties or {},
        state=state,
        created_at=created,
        due_at=due,
        completed_at=completed,
        decision=decision,
    )
    session.add(row)
    session.flush()
    return row


def opinion(
    session: Session,
    case_row: Case,
    author: User,
    decision: str,
    text: str,
    at: datetime,
    step: str = "窗口受理",
) -> Opinion:
    """An opinion log entry."""
    row = Opinion(
        case_id=case_row.id, step_name=step, author_id=author.id, decision=decision, text=text, created_at=at
    )
    session.add(row)
    session.flush()
    return row
