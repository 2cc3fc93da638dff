"""The append-only audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.models import AuditEvent, Case, User


def record_event(
    session: Session,
    case: Case | None,
    actor: User | None,
    action: str,
    detail: dict[str, Any],
    now: datetime,
) -> AuditEvent:
    """Append one audit event (never updated or deleted)."""
    event = AuditEvent(case=case, actor=actor, action=action, detail=detail, created_at=now)
    session.add(event)
    return event
