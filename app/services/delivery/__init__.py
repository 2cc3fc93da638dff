"""Outgoing deliveries through the transactional outbox: queue, claim, send, record (docs/events.md)."""

from app.services.delivery.outbox import (
    Claimed,
    backoff,
    claim_due_events,
    list_outbox,
    mark_unconfigured,
    outbox_counts,
    queue_email,
    queue_sms,
    record_delivered,
    record_failed,
    release_claims,
    retry_now,
)
from app.services.delivery.senders import DeliveryError, DeliverySettings, SmtpSettings, endpoint_of, send

__all__ = [
    "Claimed",
    "DeliveryError",
    "DeliverySettings",
    "SmtpSettings",
    "backoff",
    "claim_due_events",
    "endpoint_of",
    "list_outbox",
    "mark_unconfigured",
    "outbox_counts",
    "queue_email",
    "queue_sms",
    "record_delivered",
    "record_failed",
    "release_claims",
    "retry_now",
    "send",
]
