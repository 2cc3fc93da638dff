"""Snapshots of what a step wrote to the inbox and the outbox, for comparing a bulk path with a one-by-one
path: rows without their ids, in id order (outbox rows optionally grouped by channel, the order delivery
keeps per case and channel)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Notification, OutboxEvent

Rows = list[tuple[Any, ...]]


def inbox_rows(session: Session) -> Rows:
    """Notifications in id order, without ids."""
    query = select(
        Notification.user_id, Notification.case_id, Notification.kind, Notification.title,
        Notification.body, Notification.link, Notification.created_at,
    ).order_by(Notification.id)  # fmt: skip
    return [tuple(row) for row in session.execute(query)]


def outbox_rows(session: Session, by_channel: bool = False) -> Rows:
    """Outbox rows in id order (by channel first when asked), without ids."""
    query = select(
        OutboxEvent.case_id, OutboxEvent.channel, OutboxEvent.kind, OutboxEvent.payload,
        OutboxEvent.idempotency_key, OutboxEvent.created_at, OutboxEvent.next_attempt_at,
        OutboxEvent.attempts, OutboxEvent.delivered_at,
    )  # fmt: skip
    order = (OutboxEvent.channel, OutboxEvent.id) if by_channel else (OutboxEvent.id,)
    return [tuple(row) for row in session.execute(query.order_by(*order))]
