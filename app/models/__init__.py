"""SQLAlchemy models. Import every model module here so Alembic sees the whole schema."""

from app.models.accounts import ApiToken, Department, Membership, Role, User
from app.models.base import Base
from app.models.cases import AuditEvent, Case, HumanTask, NumberSequence, Opinion, OutboxEvent
from app.models.catalogue import ServiceItem
from app.models.processes import ProcessVersion

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Base",
    "Case",
    "Department",
    "HumanTask",
    "Membership",
    "NumberSequence",
    "Opinion",
    "OutboxEvent",
    "ProcessVersion",
    "Role",
    "ServiceItem",
    "User",
]
