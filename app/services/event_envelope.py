"""The envelope of a case event for the external supervision platform: what every outbox row carries.

Schema and kinds, the idempotency key `{case}:{kind}:{sequence}` and the event id derived from it, the
per-case sequence counter `{case.version}.{n}`, the step and actor parts, `build_event` (one webhook
outbox row in the documented envelope) and the dialect's INSERT that skips a key already written. Used by
the writers of events (`events`, `step_events`, alert raising and routing) and by the webhook sender;
this module writes nothing itself. Schema, kinds, idempotency and ordering: docs/events.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Insert, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import Case, HumanTask, OutboxEvent, User
from app.services.runtime import working_calendar

SCHEMA = "govflow.case-event/1"
KINDS = (
    "case.accepted",
    "step.started",
    "step.finished",
    "clock.paused",
    "clock.resumed",
    "case.closed",
    "alert.raised",
    "supervision.order",
)
_EVENT_NS = uuid.UUID("6f1c1d1e-9b3f-5c1e-8a0e-60766f666c6f")
_SEQ_INFO = "govflow.event_sequence"
_STATEMENTS: dict[str, Insert] = {}


def insert_ignoring_duplicates(session: Session) -> Insert:
    """INSERT INTO outbox_event … ON CONFLICT DO NOTHING (this dialect): a key is written once."""
    name = session.get_bind().dialect.name
    if name not in _STATEMENTS:
        module: Any = {"postgresql": postgresql, "sqlite": sqlite}.get(name)
        statement = module.insert(OutboxEvent).on_conflict_do_nothing() if module else insert(OutboxEvent)
        _STATEMENTS[name] = statement
    return _STATEMENTS[name]


class CaseRef(NamedTuple):
    """What an event envelope needs of its case, for rows read without the ORM."""

    id: int
    number: str
    kind: str


def local_iso(moment: datetime) -> str:
    """ISO-8601 in the configured local zone (+08:00 for Asia/Shanghai)."""
    return moment.astimezone(working_calendar().tz).isoformat()


def event_key(case_number: str | None, kind: str, sequence: str) -> str:
    """The idempotency key `{case}:{kind}:{sequence}` (`-` for events about no case)."""
    return f"{case_number or '-'}:{kind}:{sequence}"[:80]


def event_id(key: str) -> str:
    """The event's UUID: derived from its idempotency key, so a resend carries the same id."""
    return str(uuid.uuid5(_EVENT_NS, key))


def next_sequences(session: Session, case: Case, count: int) -> list[str]:
    """`{case.version}.{n}`: the version is bumped by every locked change of the case, n counts within it."""
    counters: dict[int, tuple[int, int]] = session.info.setdefault(_SEQ_INFO, {})
    version, used = counters.get(case.id, (case.version, 0))
    if version != case.version:
        used = 0
    counters[case.id] = (case.version, used + count)
    return [f"{case.version}.{n}" for n in range(used, used + count)]


def actor_info(session: Session, user_id: int | None) -> dict[str, Any] | None:
    """`{"id", "username", "name"}` of a user (from the identity map when loaded), or None."""
    user = session.get(User, user_id) if user_id is not None else None
    if user is None:
        return None
    return {"id": user.id, "username": user.username, "name": user.display_name}


def step_info(task: HumanTask | Mapping[str, Any]) -> dict[str, Any]:
    """`{"id", "name", "task", "role", "department", "due_at"}` of a human task (ORM object or insert row)."""
    row: Mapping[str, Any] = task if isinstance(task, Mapping) else vars(task)
    due = row.get("due_at")
    return {
        "id": row.get("bpmn_id"),
        "name": row.get("name"),
        "task": row.get("task_uuid"),
        "role": row.get("candidate_role"),
        "department": row.get("candidate_department"),
        "due_at": local_iso(due) if due is not None else None,
    }


def build_event(
    case: Case | CaseRef | None,
    kind: str,
    sequence: str,
    data: Mapping[str, Any],
    now: datetime,
    context: tuple[str | None, str | None],
    step: Mapping[str, Any] | None = None,
    actor: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One outbox row (channel webhook) carrying the documented event envelope."""
    key = event_key(case.number if case else None, kind, sequence)
    item_code, item_department = context
    payload = {
        "schema": SCHEMA,
        "event_id": event_id(key),
        "idempotency_key": key,
        "kind": kind,
        "case_number": case.number if case else None,
        "case_kind": case.kind if case else None,
        "occurred_at": local_iso(now),
        "department": (step or {}).get("department") or item_department,
        "item_code": item_code,
        "step": dict(step) if step else None,
        "actor": dict(actor) if actor else None,
        "data": dict(data),
    }
    return {
        "case_id": case.id if case else None,
        "channel": "webhook",
        "kind": kind,
        "payload": payload,
        "idempotency_key": key,
        "created_at": now,
        "next_attempt_at": now,
        "attempts": 0,
        "delivered_at": None,
        "last_error": None,
    }
