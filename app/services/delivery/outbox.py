"""The outbox as a queue: write e-mail/SMS rows, claim due rows in order per case, record the outcome."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, exists, func, select, update
from sqlalchemy.orm import Session, aliased

from app.models import Case, OutboxEvent
from app.services.errors import Conflict, NotFound
from app.services.event_envelope import insert_ignoring_duplicates
from app.services.step_events import publish_case_events

CHANNELS = ("webhook", "bpmn", "email", "sms")
STATES = ("pending", "failed", "delivered")
NOT_CONFIGURED = "未配置"
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
LEASE = timedelta(minutes=10)  # a claimed row is due again after this if its worker died mid-send
MAX_ERROR = 2000


@dataclass(frozen=True)
class Claimed:
    """A claimed outbox row, detached from the session: what a sender needs."""

    id: int
    channel: str
    kind: str
    payload: Mapping[str, Any]
    idempotency_key: str
    attempts: int
    created_at: datetime


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after `attempts` failed tries: 30 s × 2^(attempts-1), at most 1 h."""
    if attempts <= 0:
        return timedelta(0)
    delay: timedelta = BACKOFF_BASE * (2 ** min(attempts - 1, 20))
    return min(BACKOFF_CAP, delay)


def outbox_row(
    channel: str, kind: str, payload: dict[str, Any], key: str, now: datetime, case_id: int | None
) -> dict[str, Any]:
    """One pending outbox row (the key and kind cut to their column sizes)."""
    return {
        "case_id": case_id,
        "channel": channel,
        "kind": kind[:60],
        "payload": payload,
        "idempotency_key": key[:80],
        "created_at": now,
        "next_attempt_at": now,
        "attempts": 0,
        "delivered_at": None,
        "last_error": None,
    }


def email_row(
    to_address: str,
    subject: str,
    body: str,
    now: datetime,
    key: str,
    case_id: int | None = None,
    kind: str = "email",
) -> dict[str, Any]:
    """The outbox row of one e-mail (what `queue_email` writes)."""
    payload = {"to": to_address, "subject": subject, "body": body}
    return outbox_row("email", kind, payload, key, now, case_id)


def sms_row(
    phone: str,
    template_code: str,
    params: Mapping[str, Any],
    now: datetime,
    key: str,
    case_id: int | None = None,
) -> dict[str, Any]:
    """The outbox row of one templated SMS (what `queue_sms` writes)."""
    payload = {"phone": phone, "template": template_code, "params": dict(params)}
    return outbox_row("sms", template_code, payload, key, now, case_id)


def _queue(session: Session, row: dict[str, Any]) -> bool:
    statement = insert_ignoring_duplicates(session).returning(OutboxEvent.id)
    return session.connection().execute(statement, row).first() is not None  # None: the key existed


def queue_email(
    session: Session,
    to_address: str,
    subject: str,
    body: str,
    now: datetime,
    key: str,
    case_id: int | None = None,
    kind: str = "email",
) -> bool:
    """Queue one e-mail (UTF-8); False if `key` was already queued (the same message is sent once)."""
    return _queue(session, email_row(to_address, subject, body, now, key, case_id, kind))


def queue_sms(
    session: Session,
    phone: str,
    template_code: str,
    params: Mapping[str, Any],
    now: datetime,
    key: str,
    case_id: int | None = None,
) -> bool:
    """Queue one templated SMS; False if `key` was already queued."""
    return _queue(session, sms_row(phone, template_code, params, now, key, case_id))


def _head_of_line(channels: Sequence[str], now: datetime, limit: int) -> Any:
    """Due rows with no earlier undelivered row of the same case on the same channel."""
    earlier = aliased(OutboxEvent)
    blocked = exists().where(
        earlier.delivered_at.is_(None),
        earlier.channel == OutboxEvent.channel,
        earlier.case_id == OutboxEvent.case_id,
        earlier.id < OutboxEvent.id,
    )
    return (
        select(OutboxEvent)
        .where(
            OutboxEvent.delivered_at.is_(None),
            OutboxEvent.next_attempt_at <= now,
            OutboxEvent.channel.in_(list(channels)),
            ~blocked,
        )
        .order_by(OutboxEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=OutboxEvent)  # PostgreSQL; SQLite holds the write lock
    )


def claim_due_events(
    session: Session, channels: Sequence[str], now: datetime, limit: int = 50
) -> list[Claimed]:
    """Claim the next deliverable row of each (case, channel): count the attempt, lease it; commit next.

    Pending case events (written with their change on the case row) are published to the outbox first.
    """
    publish_case_events(session, now)
    if not channels:
        return []
    rows = list(session.scalars(_head_of_line(channels, now, limit)))
    if not rows:
        return []
    session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id.in_([row.id for row in rows]))
        .values(attempts=OutboxEvent.attempts + 1, next_attempt_at=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    return [
        Claimed(
            row.id, row.channel, row.kind, row.payload, row.idempotency_key, row.attempts + 1, row.created_at
        )
        for row in rows
    ]


def record_delivered(session: Session, event_id: int, now: datetime) -> None:
    """The receiver acknowledged: never sent again (unless replayed)."""
    session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id == event_id)
        .values(delivered_at=now, last_error=None)
        .execution_options(synchronize_session=False)
    )


def record_failed(session: Session, claimed: Claimed, error: str, now: datetime) -> datetime:
    """Keep the error and schedule the next try with exponential backoff; return when."""
    retry_at = now + backoff(claimed.attempts)
    session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id == claimed.id, OutboxEvent.delivered_at.is_(None))
        .values(last_error=error[:MAX_ERROR], next_attempt_at=retry_at)
        .execution_options(synchronize_session=False)
    )
    return retry_at


def release_claims(session: Session, claims: Sequence[Claimed], retry_at: datetime) -> None:
    """Give back claimed rows that were not tried (their channel just failed): attempt not counted."""
    if claims:
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_([c.id for c in claims]), OutboxEvent.delivered_at.is_(None))
            .values(attempts=OutboxEvent.attempts - 1, next_attempt_at=retry_at)
            .execution_options(synchronize_session=False)
        )


def mark_unconfigured(session: Session, channels: Sequence[str], now: datetime) -> int:
    """Due rows of channels with no endpoint stay pending, labelled 未配置 (nothing is lost).

    Pending case events are published first: they are labelled like every other row of their channel.
    """
    publish_case_events(session, now)
    if not channels:
        return 0
    result = session.execute(
        update(OutboxEvent)
        .where(
            OutboxEvent.delivered_at.is_(None),
            OutboxEvent.next_attempt_at <= now,
            OutboxEvent.channel.in_(list(channels)),
            func.coalesce(OutboxEvent.last_error, "") != NOT_CONFIGURED,
        )
        .values(last_error=NOT_CONFIGURED)
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], result).rowcount)


def retry_now(session: Session, event_id: int, now: datetime) -> OutboxEvent:
    """管理员「立即重试」: an undelivered row becomes due now."""
    event = session.get(OutboxEvent, event_id)
    if event is None:
        raise NotFound("投递记录不存在 (no such outbox row)")
    if event.delivered_at is not None:
        raise Conflict("已投递，无需重试 (already delivered; use replay to resend)")
    event.next_attempt_at = now
    session.flush()
    return event


@dataclass(frozen=True)
class OutboxRow:
    """One line of the admin delivery list."""

    event: OutboxEvent
    case_number: str | None
    state: str


def state_of(event: OutboxEvent) -> str:
    """delivered, failed (tried or not configured, with an error) or pending."""
    if event.delivered_at is not None:
        return "delivered"
    return "failed" if event.last_error else "pending"


def list_outbox(
    session: Session, channel: str | None, state: str | None, limit: int = 100, offset: int = 0
) -> list[OutboxRow]:
    """Outbox rows, newest first, filtered by channel and state."""
    query = select(OutboxEvent, Case.number).outerjoin(Case, Case.id == OutboxEvent.case_id)
    if channel in CHANNELS:
        query = query.where(OutboxEvent.channel == channel)
    if state == "delivered":
        query = query.where(OutboxEvent.delivered_at.is_not(None))
    elif state == "failed":
        query = query.where(OutboxEvent.delivered_at.is_(None), OutboxEvent.last_error.is_not(None))
    elif state == "pending":
        query = query.where(OutboxEvent.delivered_at.is_(None), OutboxEvent.last_error.is_(None))
    query = query.order_by(OutboxEvent.id.desc()).limit(limit).offset(offset)
    return [OutboxRow(event, number, state_of(event)) for event, number in session.execute(query)]


def outbox_counts(session: Session) -> dict[str, int]:
    """How many rows are pending, failed and delivered."""
    counts = {"pending": 0, "failed": 0, "delivered": 0}
    rows = session.execute(
        select(
            OutboxEvent.delivered_at.is_not(None).label("done"),
            OutboxEvent.last_error.is_not(None).label("error"),
            func.count(),
        ).group_by("done", "error")
    )
    for done, error, count in rows:
        counts["delivered" if done else ("failed" if error else "pending")] += int(count)
    return counts
