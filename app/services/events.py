"""Case events for the external supervision platform, written in the case's own transaction.

Step events (step.started / step.finished / case.accepted / case.closed) ride on the UPDATE of the case
row as compact pending lines and are published to the outbox afterwards (`publish_case_events`, run by
every claim of the delivery job and before any other webhook row of the same case is written); alerts,
clock and 督办 events go to the outbox directly. Schema, kinds, idempotency and ordering: docs/events.md.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import CursorResult, Insert, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from app.models import (
    Alert,
    Case,
    ClockPause,
    Department,
    HumanTask,
    OutboxEvent,
    ServiceItem,
    SupervisionOrder,
    User,
)
from app.services.audit import record_event
from app.services.notifications import notify
from app.services.runtime import working_calendar
from app.workflow import Result

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
PLATFORM_CHANNELS = ("webhook", "bpmn")  # what the supervision platform receives (and what replay resends)
ONCE = "1"  # the sequence of kinds that happen once per case (case.accepted, case.closed)
ACCEPT_DECISIONS = frozenset({"accept", "accepted"})
STARTS_ACCEPTED = frozenset({"document", "work_order"})  # 公文 and 12345 orders: accepted when started
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


def _next_sequences(session: Session, case: Case, count: int) -> list[str]:
    """`{case.version}.{n}`: the version is bumped by every locked change of the case, n counts within it."""
    counters: dict[int, tuple[int, int]] = session.info.setdefault(_SEQ_INFO, {})
    version, used = counters.get(case.id, (case.version, 0))
    if version != case.version:
        used = 0
    counters[case.id] = (case.version, used + count)
    return [f"{case.version}.{n}" for n in range(used, used + count)]


def _item_context(session: Session, case: Case | None) -> tuple[str | None, str | None]:
    if case is None or case.service_item_id is None:
        return None, None
    item = session.get(ServiceItem, case.service_item_id)  # identity map first
    return (item.code, item.department.code) if item is not None else (None, None)


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
        sequence = _next_sequences(session, case, 1)[0]
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


def _finished_task(session: Session, case: Case, task_uuid: str) -> HumanTask | None:
    """The just-completed task from the identity map (read without triggering any load)."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, HumanTask):
            row = vars(obj)
            same = row.get("case_id") == case.id and row.get("task_uuid") == task_uuid
            if same and row.get("state") not in (None, "open"):
                return obj
    return None


def _step_line(row: Mapping[str, Any]) -> list[Any]:
    due = row.get("due_at")
    return [
        row.get("bpmn_id"),
        row.get("name"),
        row.get("task_uuid"),
        row.get("candidate_role"),
        row.get("candidate_department"),
        due.isoformat() if due is not None else None,
    ]


def plan_step_events(
    session: Session,
    case: Case,
    result: Result,
    created: Sequence[Mapping[str, Any]],
    now: datetime,
    *,
    completed_uuid: str | None,
    starting: bool,
    closing: bool,
    finished: HumanTask | None = None,
) -> str:
    """Projection hook: step.finished, case.accepted, step.started, case.closed — as pending-event lines.

    Returns JSON lines to append to `case.pending_events` (written by the UPDATE of the case row the step
    makes anyway); `publish_case_events` turns them into outbox rows, payloads built only then.
    """
    if finished is None and completed_uuid:
        finished = _finished_task(session, case, completed_uuid)
    planned: list[tuple[str, dict[str, Any], list[Any] | None, int | None]] = []
    if finished is not None:
        row = vars(finished)
        actor = row.get("completed_by_id") or getattr(row.get("completed_by"), "id", None)
        data = {"decision": finished.decision, "outcome": finished.state}
        planned.append(("step.finished", data, _step_line(row), actor))
        if finished.decision in ACCEPT_DECISIONS:
            planned.append(("case.accepted", {"by_step": finished.bpmn_id}, None, actor))
    if starting and case.kind in STARTS_ACCEPTED:
        planned.append(("case.accepted", {"by_step": None}, None, case.originator_id))
    planned.extend(("step.started", {}, _step_line(row), None) for row in created)
    if closing:
        planned.append(("case.closed", {"status": result.status}, None, None))
    _notify_urgent(session, case, result, created, now)
    _notify_applicant(session, case, created, now)
    if not planned:
        return ""
    sequences = iter(_next_sequences(session, case, len(planned)))
    moment = now.isoformat()
    lines = [
        [
            kind,
            ONCE if kind in ("case.accepted", "case.closed") else next(sequences),
            moment,
            data,
            step,
            actor,
        ]
        for kind, data, step, actor in planned
    ]
    return "".join(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines)


class _Pending(NamedTuple):
    id: int
    version: int
    number: str
    kind: str
    service_item_id: int | None
    pending_events: str


_PENDING_COLUMNS = (
    Case.id,
    Case.version,
    Case.number,
    Case.kind,
    Case.service_item_id,
    Case.pending_events,
)
_CLEAR_PENDING = (
    update(Case)
    .where(Case.id == bindparam("case_id"), Case.version == bindparam("seen_version"))
    .values(pending_events=None)
    .execution_options(synchronize_session=False)
)
PUBLISH_BATCH = 500


def _published_rows(session: Session, cases: Sequence[_Pending], now: datetime) -> list[dict[str, Any]]:
    """Outbox rows of the pending-event lines of `cases`, in case and line order (payloads built here)."""
    parsed = [
        (case, [json.loads(line) for line in case.pending_events.splitlines() if line]) for case in cases
    ]
    actor_ids = {line[5] for _, lines in parsed for line in lines if line[5] is not None}
    actors = (
        {
            user.id: {"id": user.id, "username": user.username, "name": user.display_name}
            for user in session.execute(
                select(User.id, User.username, User.display_name).where(User.id.in_(sorted(actor_ids)))
            )
        }
        if actor_ids
        else {}
    )
    contexts = _item_contexts(session, {c.service_item_id for c in cases if c.service_item_id is not None})
    rows = []
    for case, lines in parsed:
        ref = CaseRef(case.id, case.number, case.kind)
        context = contexts.get(case.service_item_id or 0, (None, None))
        for kind, sequence, moment, data, step, actor_id in lines:
            occurred = datetime.fromisoformat(moment)
            row = build_event(
                ref, kind, sequence, data, occurred, context, _step_of(step), actors.get(actor_id)
            )
            row["next_attempt_at"] = now
            rows.append(row)
    return rows


def _step_of(line: list[Any] | None) -> dict[str, Any] | None:
    if line is None:
        return None
    bpmn_id, name, task_uuid, role, department, due = line
    return {
        "id": bpmn_id,
        "name": name,
        "task": task_uuid,
        "role": role,
        "department": department,
        "due_at": local_iso(datetime.fromisoformat(due)) if due is not None else None,
    }


def _item_contexts(session: Session, item_ids: set[int]) -> dict[int, tuple[str | None, str | None]]:
    if not item_ids:
        return {}
    query = (
        select(ServiceItem.id, ServiceItem.code, Department.code)
        .join(Department, Department.id == ServiceItem.department_id)
        .where(ServiceItem.id.in_(sorted(item_ids)))
    )
    return {item_id: (code, department) for item_id, code, department in session.execute(query)}


def _pending_query(case_ids: Sequence[int] | None, skip_locked: bool) -> Any:
    query = select(*_PENDING_COLUMNS).where(Case.pending_events.is_not(None)).order_by(Case.id)
    query = query.where(Case.id.in_(case_ids)) if case_ids is not None else query.limit(PUBLISH_BATCH)
    return query.with_for_update(of=Case, skip_locked=skip_locked)  # PostgreSQL; SQLite: the write lock


def _read_pending(session: Session, case_ids: Sequence[int] | None, skip_locked: bool) -> list[_Pending]:
    return [_Pending(*row) for row in session.execute(_pending_query(case_ids, skip_locked))]


def _take_pending(session: Session, cases: Sequence[_Pending], now: datetime) -> list[dict[str, Any]]:
    """Outbox rows for the pending events of `cases`; their lines cleared unless the case changed since."""
    if not cases:
        return []
    rows = _published_rows(session, cases, now)
    session.connection().execute(
        _CLEAR_PENDING, [{"case_id": c.id, "seen_version": c.version} for c in cases]
    )
    for case in cases:  # keep loaded Case objects in step without a reload
        obj = session.identity_map.get(identity_key(Case, case.id))
        if obj is not None and vars(obj).get("version") == case.version:
            set_committed_value(obj, "pending_events", None)
    return rows


def publish_case_events(session: Session, now: datetime, case_ids: Iterable[int] | None = None) -> int:
    """Move pending case events (`case_record.pending_events`) to the outbox, in order; return how many rows.

    Without `case_ids`: the next PUBLISH_BATCH cases with pending events, skipping cases locked by a change
    in progress (their events come with the next run). With `case_ids`: those cases, waiting for their lock
    — what a writer of other webhook rows of those cases calls first, so that the order stays the order
    in which things happened. A case changed meanwhile keeps its lines and is published again later
    (already written keys are skipped).
    """
    ids = None if case_ids is None else sorted(set(case_ids))
    if ids is not None and not ids:
        return 0
    session.flush()
    rows: list[dict[str, Any]] = []
    for start in range(0, len(ids), PUBLISH_BATCH) if ids is not None else [0]:
        chunk = ids[start : start + PUBLISH_BATCH] if ids is not None else None
        rows.extend(_take_pending(session, _read_pending(session, chunk, skip_locked=chunk is None), now))
    if rows:
        session.connection().execute(insert_ignoring_duplicates(session), rows)
    return len(rows)


def _notify_urgent(
    session: Session, case: Case, result: Result, created: Sequence[Mapping[str, Any]], now: datetime
) -> None:
    """特急 documents: SMS the handlers of each new step (docs/events.md, routing)."""
    urgent = {info.task_id for info in result.ready if str(info.data.get("urgency", "")) == "特急"}
    rows = [row for row in created if row["task_uuid"] in urgent]
    if rows and case.kind == "document":
        from app.services.delivery.routing import route_urgent_document

        route_urgent_document(session, case, rows, now)


def _notify_applicant(
    session: Session, case: Case, created: Sequence[Mapping[str, Any]], now: datetime
) -> None:
    """A step waiting for the applicant (补正, 容缺 promise, 告知承诺 signature): tell them in the inbox."""
    steps = [
        str(row.get("name") or row.get("bpmn_id"))
        for row in created
        if row.get("candidate_role") == "applicant" and row.get("assignee_id") == case.originator_id
    ]
    if not steps or case.originator_id is None:
        return
    title = f"办件 {case.number} 需要您办理：{'、'.join(steps)}"
    notify(
        session,
        case.originator_id,
        "case.applicant_step",
        title,
        case.title or "",
        f"/my/cases/{case.number}",
        case.id,
        now,
    )


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
