"""The in-app inbox (站内消息) as its reader sees it: list, unread count, mark read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.models import Notification, User
from app.services.errors import NotFound


@dataclass(frozen=True)
class InboxPage:
    """One page of notifications, unread first, newest first."""

    items: list[Notification]
    page: int
    per_page: int
    total: int
    unread: int

    @property
    def pages(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, -(-self.total // self.per_page))


def unread_count(session: Session, user_id: int) -> int:
    """How many notifications the user has not read (uses the (user, read_at) index)."""
    query = select(func.count(Notification.id)).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    return int(session.scalar(query) or 0)


def list_notifications(session: Session, user: User, page: int = 1, per_page: int = 20) -> InboxPage:
    """The user's notifications, unread first, newest first."""
    page, per_page = max(1, page), min(max(1, per_page), 100)
    mine = Notification.user_id == user.id
    total = int(session.scalar(select(func.count(Notification.id)).where(mine)) or 0)
    query = (
        select(Notification)
        .where(mine)
        .order_by(Notification.read_at.is_not(None), Notification.created_at.desc(), Notification.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    items = list(session.scalars(query))
    return InboxPage(items, page, per_page, total, unread_count(session, user.id))


def mark_read(session: Session, notification_id: int, actor: User, now: datetime) -> Notification:
    """Mark one of the actor's notifications read (someone else's is 404: it does not exist for them)."""
    notification = session.get(Notification, notification_id)
    if notification is None or notification.user_id != actor.id:
        raise NotFound("消息不存在 (no such notification)")
    if notification.read_at is None:
        notification.read_at = now
        session.flush()
    return notification


def mark_all_read(session: Session, actor: User, now: datetime) -> int:
    """Mark every unread notification of the actor read; return how many."""
    stmt = (
        update(Notification)
        .where(Notification.user_id == actor.id, Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    count = int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]
    session.expire_all()
    return count
