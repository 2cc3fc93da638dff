"""The append-only audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from app.models import AuditEvent, Case, User

_INSERT = insert(AuditEvent)  # built once; executed with parameters


def event_row(
    case: Case | None, actor: User | None, action: str, detail: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """The audit_event row `record_event` inserts (for a caller that writes it with other rows)."""
    return {
        "case_id": case.id if case is not None else None,
        "actor_id": actor.id if actor is not None else None,
        "action": action,
        "detail": detail,
        "created_at": now,
    }


def record_event(
    session: Session,
    case: Case | None,
    actor: User | None,
    action: str,
    detail: dict[str, Any],
    now: datetime,
) -> None:
    """Append one audit event (never updated or deleted); a plain INSERT on the connection, no ORM work."""
    session.connection().execute(_INSERT, event_row(case, actor, action, detail, now))
