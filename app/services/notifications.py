"""In-app notifications (站内消息): one Notification row per recipient; e-mail/SMS is elsewhere."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from app.models import Notification

_INSERT = insert(Notification)
MAX_TITLE = 200
MAX_LINK = 300


def notify(
    session: Session,
    user_id: int,
    kind: str,
    title: str,
    body: str,
    link: str | None,
    case_id: int | None,
    now: datetime,
) -> None:
    """Insert one unread in-app notification for `user_id` (plain INSERT, no ORM work)."""
    notify_many(session, [user_id], kind, title, body, link, case_id, now)


def notification_rows(
    user_ids: Iterable[int],
    kind: str,
    title: str,
    body: str,
    link: str | None,
    case_id: int | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """The rows of one notification to several users (deduplicated, cut to the column sizes)."""
    return [
        {
            "user_id": user_id,
            "case_id": case_id,
            "kind": kind[:40],
            "title": title[:MAX_TITLE],
            "body": body,
            "link": link[:MAX_LINK] if link else None,
            "created_at": now,
            "read_at": None,
        }
        for user_id in dict.fromkeys(user_ids)
    ]


def notify_many(
    session: Session,
    user_ids: Iterable[int],
    kind: str,
    title: str,
    body: str,
    link: str | None,
    case_id: int | None,
    now: datetime,
) -> None:
    """The same notification to several users (deduplicated), in one multi-row INSERT."""
    rows = notification_rows(user_ids, kind, title, body, link, case_id, now)
    if rows:
        session.connection().execute(_INSERT, rows)
