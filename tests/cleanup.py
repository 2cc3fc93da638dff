"""Removing what a real-commit test (threads, scheduler jobs) left behind, so later tests start clean."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.models import Case, Notification, OutboxEvent


def delete_cases(session: Session, case_ids: Iterable[int]) -> None:
    """Delete cases with the rows that only point at them (their foreign keys SET NULL on delete)."""
    ids = list(case_ids)
    session.execute(delete(OutboxEvent).where(OutboxEvent.case_id.in_(ids)))
    session.execute(delete(Notification).where(Notification.case_id.in_(ids)))
    session.execute(delete(Case).where(Case.id.in_(ids)))
