"""Case events for the external supervision platform, written to the outbox in the case's own transaction.

Alerts (alert.raised), clock (clock.paused / clock.resumed) and 督办 (supervision.order) events are built
with the envelope of `event_envelope` and written to the outbox directly by `emit_*` / `write_events`,
after the case's pending step events (`step_events.publish_case_events`) so that a case's rows keep the
order in which things happened; `replay_events` marks platform events for sending again. Step events
ride on the case row instead (`step_events`). Schema, kinds, idempotency and ordering: docs/events.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from app.models import Alert, Case, ClockPause, HumanTask, OutboxEvent, ServiceItem, SupervisionOrder
from app.services.audit import record_event
from app.services.event_envelope import (
    KINDS,
    actor_info,
    build_event,
    insert_ignoring_duplicates,
    local_iso,
    next_sequences,
    step_info,
)
from app.services.step_events import publish_case_events

PLATFORM_CHANNELS = ("webhook", "bpmn")  # what the supervision platform receives (and what replay resends)


def _item_context(session: Session, case: Case | None) -> tuple[str | None, str | None]:
    if case is None or case.service_item_id is None:
        return None, None
    item = session.get(ServiceItem, case.service_item_id)  # identity map first
    return (item.code, item.department.code) if item is not None else (None, None)


def write_events(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """All rows in one multi-row INSERT; a key already in the outbox is skipped (the event exists).

    The pending events of the rows' cases are published first, so that they keep their place in line.
    """
    if rows:
        publish_case_events(session, rows[0]["created_at"], publish_before(rows))
        session.connection().execute(insert_ignoring_duplicates(session), list(rows))


def publish_before(rows: Sequence[Mapping[str, Any]]) -> set[int]:
    """The cases whose pending events must be published before these webhook rows are written."""
    return {row["case_id"] for row in rows if row["case_id"] is not None and row["channel"] == "webhook"}


def emit_case_event(
    session: Session,
    case: Case | None,
    kind: str,
    payload: Mapping[str, Any],
    now: datetime,
    *,
    sequence: str | None = None,
    step: Mapping[str, Any] | None = None,
    actor_id: int | None = None,
) -> str:
    """Write one case event to the outbox (same transaction); return its idempotency key.

    `sequence` must be unique per (case, kind): pass the id of the row the event is about (alert,
    pause, order) when the case itself is not changed; by default `{case.version}.{n}` is used.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    if sequence is None:
        if case is None:
            raise ValueError("events about no case need an explicit sequence")
        sequence = next_sequences(session, case, 1)[0]
    context = _item_context(session, case)
    row = build_event(case, kind, sequence, payload, now, context, step, actor_info(session, actor_id))
    write_events(session, [row])
    return str(row["idempotency_key"])


def alert_raised_data(alert_id: int, level: str, rule: str, explanation: str) -> dict[str, Any]:
    """The `data` of an alert.raised event."""
    return {"level": level, "rule": rule, "explanation": explanation, "alert_id": alert_id}


def emit_alert_raised(session: Session, alert: Alert, now: datetime) -> str:
    """alert.raised for a new 预警/黄牌/红牌 (sequence: the alert id)."""
    session.flush()
    case = session.get(Case, alert.case_id)
    task = session.get(HumanTask, alert.human_task_id) if alert.human_task_id else None
    data = alert_raised_data(alert.id, alert.level, alert.rule, alert.explanation)
    step = step_info(task) if task is not None else None
    return emit_case_event(session, case, "alert.raised", data, now, sequence=str(alert.id), step=step)


def emit_clock_event(session: Session, pause: ClockPause, now: datetime, actor_id: int | None = None) -> str:
    """clock.paused (open pause) or clock.resumed (ended pause) for 补正 and §45 special steps."""
    session.flush()
    case = session.get(Case, pause.case_id)
    kind = "clock.resumed" if pause.ended_at is not None else "clock.paused"
    data = {
        "reason": pause.reason,
        "note": pause.note,
        "pause_id": pause.id,
        "started_at": local_iso(pause.started_at),
        "ended_at": local_iso(pause.ended_at) if pause.ended_at else None,
    }
    return emit_case_event(session, case, kind, data, now, sequence=str(pause.id), actor_id=actor_id)


def emit_supervision_order(session: Session, order: SupervisionOrder, action: str, now: datetime) -> str:
    """supervision.order (督办) — action issued / escalated / replied / closed; sequence id.action.level."""
    session.flush()
    case = session.get(Case, order.case_id) if order.case_id else None
    data = {
        "order_id": order.id,
        "action": action,
        "level": order.level,
        "status": order.status,
        "department": order.department.code,
        "instruction": order.instruction,
        "deadline": local_iso(order.deadline),
        "reply": order.reply,
    }
    sequence = f"{order.id}.{action}.{order.level}"
    return emit_case_event(session, case, "supervision.order", data, now, sequence=sequence)


def replay_events(
    session: Session,
    since: datetime,
    until: datetime,
    case_number: str | None,
    now: datetime,
    channels: Sequence[str] = PLATFORM_CHANNELS,
) -> int:
    """Mark platform events created in [since, until) for sending again, same keys; return how many."""
    query = update(OutboxEvent).where(
        OutboxEvent.created_at >= since,
        OutboxEvent.created_at < until,
        OutboxEvent.channel.in_(list(channels)),
    )
    if case_number is not None:
        case_id = session.scalar(select(Case.id).where(Case.number == case_number))
        query = query.where(OutboxEvent.case_id == (case_id if case_id is not None else -1))
    values = {"delivered_at": None, "next_attempt_at": now, "attempts": 0, "last_error": None}
    result = session.execute(query.values(**values).execution_options(synchronize_session="fetch"))
    count = cast(CursorResult[Any], result).rowcount
    detail = {"since": since.isoformat(), "until": until.isoformat(), "case": case_number, "events": count}
    record_event(session, None, None, "outbox.replayed", detail, now)
    return int(count)
