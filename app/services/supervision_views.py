"""What the supervision dashboard and API read: who sees which department, alerts, anomalies, orders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.orm import Session, selectinload

from app.models import Alert, Anomaly, Case, Department, HumanTask, ServiceItem, SupervisionOrder, User
from app.services.errors import InvalidInput, PermissionDenied

ALL_DEPARTMENTS = ("supervisor", "admin")
OWN_DEPARTMENT = ("dept_head", "leader")
ALERT_LEVELS = ("warning", "yellow", "red")
ORDER_STATUSES = ("open", "replied", "closed")
MAX_ROWS = 200


@dataclass(frozen=True)
class Scope:
    """The departments an actor may see: every one (`department` None) or exactly one."""

    department: str | None

    def narrow(self, wanted: str | None) -> str | None:
        """The department filter to apply: the actor's own one wins over what was asked for."""
        return self.department if self.department is not None else wanted

    def allows(self, department: str | None) -> bool:
        """Whether an object of `department` is visible."""
        return self.department is None or department == self.department


def supervision_scope(actor: User) -> Scope:
    """Supervisors and administrators see everything; a department head or leader their department."""
    roles = actor.role_codes()
    if roles & set(ALL_DEPARTMENTS):
        return Scope(None)
    own = sorted(
        m.department_code for m in actor.memberships if m.role.code in OWN_DEPARTMENT and m.department_code
    )
    if not own:
        raise PermissionDenied("只有监察人员、部门负责人或领导可以查看电子监察 (supervision only)")
    return Scope(own[0])


@dataclass(frozen=True)
class AlertFilters:
    """Alert list filters; `acknowledged` None = both."""

    level: str | None = None
    department: str | None = None
    acknowledged: bool | None = None

    def __post_init__(self) -> None:
        if self.level is not None and self.level not in ALERT_LEVELS:
            raise InvalidInput("预警级别无效", {"level": "warning / yellow / red"})


@dataclass(frozen=True)
class AlertRow:
    """A live alert with its case number and step name."""

    alert: Alert
    case_number: str
    step: str | None


def list_alerts(
    session: Session, scope: Scope, filters: AlertFilters, limit: int = MAX_ROWS
) -> list[AlertRow]:
    """Live (unresolved) alerts, red first, newest first, within the actor's scope."""
    query = (
        select(Alert, Case.number, HumanTask.name)
        .join(Case, Case.id == Alert.case_id)
        .outerjoin(HumanTask, HumanTask.id == Alert.human_task_id)
        .where(Alert.resolved_at.is_(None))
    )
    department = scope.narrow(filters.department)
    if department is not None:
        query = query.where(Alert.department_code == department)
    if filters.level is not None:
        query = query.where(Alert.level == filters.level)
    if filters.acknowledged is not None:
        acknowledged = Alert.acknowledged_at.is_not(None)
        query = query.where(acknowledged if filters.acknowledged else ~acknowledged)
    severity = case({"red": 0, "yellow": 1, "warning": 2}, value=Alert.level, else_=3)
    query = query.order_by(severity, Alert.raised_at.desc(), Alert.id.desc()).limit(limit)
    return [AlertRow(a, number, step) for a, number, step in session.execute(query)]


def alert_counts(rows: list[AlertRow]) -> dict[str, int]:
    """How many listed alerts per level."""
    counts = dict.fromkeys(ALERT_LEVELS, 0)
    for row in rows:
        counts[row.alert.level] = counts.get(row.alert.level, 0) + 1
    return counts


@dataclass(frozen=True)
class AnomalyRow:
    """An anomaly with its case number and the case's department."""

    anomaly: Anomaly
    case_number: str
    department: str | None


def list_anomalies(session: Session, scope: Scope, limit: int = MAX_ROWS) -> list[AnomalyRow]:
    """Unresolved anomalies, newest first, within the actor's scope."""
    query = (
        select(Anomaly, Case.number, Department.code)
        .join(Case, Case.id == Anomaly.case_id)
        .outerjoin(ServiceItem, ServiceItem.id == Case.service_item_id)
        .outerjoin(Department, Department.id == ServiceItem.department_id)
        .where(Anomaly.resolved_at.is_(None))
        .order_by(Anomaly.detected_at.desc(), Anomaly.id.desc())
        .limit(limit)
    )
    if scope.department is not None:
        query = query.where(Department.code == scope.department)
    return [AnomalyRow(a, number, code) for a, number, code in session.execute(query)]


def list_orders(
    session: Session, scope: Scope, status: str | None = None, limit: int = MAX_ROWS
) -> list[SupervisionOrder]:
    """督办 orders, open ones first, within the actor's scope."""
    if status is not None and status not in ORDER_STATUSES:
        raise InvalidInput("督办状态无效", {"status": " / ".join(ORDER_STATUSES)})
    query = (
        select(SupervisionOrder)
        .join(Department, Department.id == SupervisionOrder.department_id)
        .options(selectinload(SupervisionOrder.department))
        .order_by(SupervisionOrder.closed_at.is_not(None), SupervisionOrder.deadline, SupervisionOrder.id)
        .limit(limit)
    )
    if scope.department is not None:
        query = query.where(Department.code == scope.department)
    if status is not None:
        query = query.where(SupervisionOrder.status == status)
    return list(session.scalars(query))


def case_numbers(session: Session, case_ids: set[int | None]) -> dict[int, str]:
    """Case id → number for the given ids."""
    ids = sorted(i for i in case_ids if i is not None)
    if not ids:
        return {}
    return dict(session.execute(select(Case.id, Case.number).where(Case.id.in_(ids))).tuples().all())


def case_id_for(session: Session, number: str | None) -> int | None:
    """The id of the case with this number (None when no number); InvalidInput when unknown."""
    if not number:
        return None
    found = session.scalar(select(Case.id).where(Case.number == number.strip()))
    if found is None:
        raise InvalidInput("办件不存在", {"case_number": "办件不存在 (no such case)"})
    return found


def departments(session: Session) -> list[tuple[str, str]]:
    """(code, name) of every department, by code."""
    return [
        (c, n) for c, n in session.execute(select(Department.code, Department.name).order_by(Department.code))
    ]


def order_visible(order: SupervisionOrder, scope: Scope) -> bool:
    """Whether the order's department is in the scope."""
    return scope.allows(order.department.code)


def order_json(order: SupervisionOrder, case_number: str | None) -> dict[str, Any]:
    """A 督办 order as JSON."""

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": order.id,
        "case_number": case_number,
        "department": order.department.code,
        "department_name": order.department.name,
        "instruction": order.instruction,
        "deadline": iso(order.deadline),
        "level": order.level,
        "status": order.status,
        "issued_at": iso(order.issued_at),
        "reply": order.reply,
        "replied_at": iso(order.replied_at),
        "closed_at": iso(order.closed_at),
    }
