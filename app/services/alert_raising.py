"""PostgreSQL: raise many alerts and write their alert.raised events in ONE statement.

The first deadline scan over a large backlog raises ~100 000 alerts. Building each event envelope in
Python, serialising it to JSON and sending it back costs more than the INSERTs themselves, so on
PostgreSQL `raise_alerts_pg` does this instead:

1. takes the alert ids from the sequence up front (`nextval` × n) and computes each event's idempotency
   key and event id (uuid5 of the key, `event_id`) — the only per-row work left in Python;
2. COPYs the rows into a temporary table;
3. runs one statement: ``WITH inserted AS (INSERT INTO alert … ORDER BY seq ON CONFLICT DO NOTHING
   RETURNING …), events AS (INSERT INTO outbox_event SELECT … jsonb_build_object(…) FROM inserted JOIN
   case_record … ORDER BY id ON CONFLICT DO NOTHING) SELECT … FROM inserted JOIN case_record …``.

The payload built by SQL is the envelope `build_event` builds for `emit_alert_raised` (jsonb compares
and stores objects independently of key order); tests/services/test_alert_routing_bulk.py checks that
the rows written are the same as routing alert by alert. A key that exists already (another node, an
anomaly card) is skipped together with its event. SQLite keeps the Python path (`announce_loaded`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    case,
    cast,
    func,
    literal,
    null,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, aliased

from app.models import Alert, Case, Department, HumanTask, OutboxEvent, ServiceItem
from app.services.alert_routing import ALERT_COLUMNS, fresh_load_table, pg_copy
from app.services.event_envelope import SCHEMA, event_id, event_key, local_iso
from app.services.step_events import publish_case_events

KIND = "alert.raised"
_DUE_KEY = "YYYY-MM-DD HH24:MI:SS.US"  # to_char of a stored (naive UTC) due_at
_PY_DUE_KEY = "%Y-%m-%d %H:%M:%S.%f"

ALERT_LOAD = Table(
    "govflow_alert_load",
    MetaData(),
    Column("seq", Integer),
    Column("id", Integer),
    Column("dedupe_key", String),
    Column("case_id", Integer),
    Column("human_task_id", Integer),
    Column("department_code", String),
    Column("level", String),
    Column("rule", String),
    Column("explanation", Text),
    Column("event_key", String),
    Column("event_id", String),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
# For the rest of the scan's transaction: a plan over tens of thousands of rows is not worth JIT-compiling
# (≈ 0.5 s of compilation for a statement that runs in about 2 s), and its sorts fit in memory.
_SETTINGS = ("SET LOCAL jit = off", "SET LOCAL work_mem = '64MB'")
_INSERTED = ("dedupe_key", "case_id", "human_task_id", "department_code", "level", "rule", "explanation")


def _payload(inserted: Any, load: Any, item_department: Any) -> Any:
    """`build_event(case, "alert.raised", str(alert.id), alert_raised_data(…), now, context, step)`."""
    due = func.jsonb_extract_path_text(
        cast(bindparam("dues", type_=Text), JSONB), func.to_char(HumanTask.due_at, _DUE_KEY)
    )
    step = case(
        (HumanTask.id.is_(None), null()),
        else_=func.jsonb_build_object(
            "id", HumanTask.bpmn_id,
            "name", HumanTask.name,
            "task", HumanTask.task_uuid,
            "role", HumanTask.candidate_role,
            "department", HumanTask.candidate_department,
            "due_at", due,
        ),
    )  # fmt: skip
    data = func.jsonb_build_object(
        "level", inserted.c.level,
        "rule", inserted.c.rule,
        "explanation", inserted.c.explanation,
        "alert_id", inserted.c.id,
    )  # fmt: skip
    return func.jsonb_build_object(
        "schema", literal(SCHEMA, String),
        "event_id", load.c.event_id,
        "idempotency_key", load.c.event_key,
        "kind", literal(KIND, String),
        "case_number", Case.number,
        "case_kind", Case.kind,
        "occurred_at", bindparam("occurred_at", type_=String),
        "department", func.coalesce(func.nullif(HumanTask.candidate_department, ""), item_department.code),
        "item_code", ServiceItem.code,
        "step", step,
        "actor", null(),
        "data", data,
    )  # fmt: skip


def _statement() -> Any:
    load = ALERT_LOAD
    now = bindparam("now", type_=Alert.raised_at.type)
    source = select(load.c.id, *(load.c[name] for name in _INSERTED), now)  # ids given: any order
    inserted = (
        postgresql.insert(Alert)
        .from_select(["id", *_INSERTED, "raised_at"], source)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Alert.id, *(getattr(Alert, name) for name in _INSERTED[1:]), Alert.raised_at)
        .cte("inserted")
    )
    item_department = aliased(Department)
    events = select(
        inserted.c.case_id,
        literal("webhook", String),
        literal(KIND, String),
        _payload(inserted, load, item_department),
        load.c.event_key,
        now,
        now,
        literal(0),
    )
    events = (
        events.select_from(inserted)
        .join(load, load.c.id == inserted.c.id)
        .join(Case, Case.id == inserted.c.case_id)
        .outerjoin(HumanTask, HumanTask.id == inserted.c.human_task_id)
        .outerjoin(ServiceItem, ServiceItem.id == Case.service_item_id)
        .outerjoin(item_department, item_department.id == ServiceItem.department_id)
        .order_by(inserted.c.id)
    )
    columns = ["case_id", "channel", "kind", "payload", "idempotency_key", "created_at", "next_attempt_at"]
    written = (
        postgresql.insert(OutboxEvent)
        .from_select([*columns, "attempts"], events)
        .on_conflict_do_nothing()
        .cte("events")
    )
    alert_columns = [inserted.c[column.key] for column in ALERT_COLUMNS[:7]]
    return (
        select(*alert_columns, *ALERT_COLUMNS[7:])
        .add_cte(written)
        .select_from(inserted)
        .join(Case, Case.id == inserted.c.case_id)
        .outerjoin(HumanTask, HumanTask.id == inserted.c.human_task_id)
        .order_by(inserted.c.id)
    )


_STATEMENT = _statement()


def _case_numbers(session: Session, rows: Sequence[dict[str, Any]]) -> dict[int, str]:
    """Case numbers of the rows (carried by the row as `case_number`, else read)."""
    numbers = {row["case_id"]: row["case_number"] for row in rows if row.get("case_number")}
    missing = sorted({row["case_id"] for row in rows} - numbers.keys())
    for start in range(0, len(missing), 5000):
        query = select(Case.id, Case.number).where(Case.id.in_(missing[start : start + 5000]))
        numbers.update({case_id: number for case_id, number in session.execute(query)})
    return numbers


def _dues(session: Session) -> dict[str, str]:
    """Local ISO time of each distinct due date of the loaded alerts' steps, keyed as SQL prints it."""
    query = (
        select(HumanTask.due_at)
        .join(ALERT_LOAD, ALERT_LOAD.c.human_task_id == HumanTask.id)
        .where(HumanTask.due_at.is_not(None))
        .distinct()
    )
    dues = [due for due in session.scalars(query) if due is not None]
    return {due.astimezone(UTC).strftime(_PY_DUE_KEY): local_iso(due) for due in dues}


def raise_alerts_pg(session: Session, rows: Sequence[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Insert alert rows (an existing key is skipped) with their alert.raised events; return the new
    alerts as `load_alerts` returns them, by id (ids follow the order of `rows`)."""
    if not rows:
        return []
    numbers = _case_numbers(session, rows)
    sequence = func.nextval(func.pg_get_serial_sequence(Alert.__tablename__, "id"))
    ids = list(session.scalars(select(sequence).select_from(func.generate_series(1, len(rows)))))
    fresh_load_table(session, ALERT_LOAD)
    copied = []
    for n, (row, alert_id) in enumerate(zip(rows, sorted(ids), strict=True)):
        key = event_key(numbers.get(row["case_id"]), KIND, str(alert_id))
        copied.append((n, alert_id, *(row[name] for name in _INSERTED), key, event_id(key)))
    pg_copy(session, ALERT_LOAD.name, [column.name for column in ALERT_LOAD.c], copied)
    publish_case_events(session, now, set(numbers))  # pending events of these cases first, as write_events
    for setting in _SETTINGS:
        session.execute(text(setting))
    params = {"now": now, "occurred_at": local_iso(now), "dues": json.dumps(_dues(session))}
    result = session.connection().execute(_STATEMENT, params)
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result]
