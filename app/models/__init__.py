"""SQLAlchemy models. Import every model module here so Alembic sees the whole schema."""

from app.models.accounts import ApiToken, Department, Membership, Role, User
from app.models.base import Base
from app.models.cases import AuditEvent, Case, HumanTask, NumberSequence, Opinion, OutboxEvent
from app.models.catalogue import ServiceItem
from app.models.portal import ApplicationDraft, Complaint, CreditRecord, Evaluation, Licence, Material
from app.models.processes import ProcessVersion
from app.models.supervision import (
    Alert,
    Anomaly,
    CalendarOverride,
    CaseExtension,
    ClockPause,
    Notification,
    SupervisionOrder,
)
from app.models.workspace import ProxyRule, TaskCopy

__all__ = [
    "Alert",
    "Anomaly",
    "ApiToken",
    "ApplicationDraft",
    "AuditEvent",
    "Base",
    "CalendarOverride",
    "Case",
    "CaseExtension",
    "ClockPause",
    "Complaint",
    "CreditRecord",
    "Department",
    "Evaluation",
    "HumanTask",
    "Licence",
    "Material",
    "Membership",
    "Notification",
    "NumberSequence",
    "Opinion",
    "OutboxEvent",
    "ProcessVersion",
    "ProxyRule",
    "Role",
    "ServiceItem",
    "SupervisionOrder",
    "TaskCopy",
    "User",
]
