"""Announcing many new alerts at once: alert.raised events, inbox rows, e-mail and SMS, set-based.

The deadline scan can raise 100 000 alerts in one run. `announce_many` produces exactly what
`emit_alert_raised` + `route_alert` produce alert by alert (same payloads, same idempotency keys,
ON CONFLICT DO NOTHING on the outbox), but reads the alerts, cases, tasks, catalogue items and contacts
in a few queries, asks for each distinct set of role holders once, and writes each kind of row in
multi-row INSERTs (PostgreSQL: INSERT … SELECT FROM jsonb_to_recordset(one JSON document)).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text, bindparam, cast, column, func, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from app.models import Alert, Case, Department, HumanTask, Notification, OutboxEvent, ServiceItem, User
from app.services.delivery.outbox import email_row, sms_row
from app.services.delivery.routing import alert_message, alert_recipients
from app.services.directory import role_holders
from app.services.events import (
    CaseRef,
    alert_raised_data,
    build_event,
    step_info,
    write_events,
)
from app.services.notifications import notification_rows

CHUNK = 5000  # keys per IN list (SQLite bound-parameter limit)
WRITE_CHUNK = 20000  # rows per INSERT … SELECT FROM jsonb_to_recordset

_NOTIFICATION_COLUMNS = (
    ("user_id", Integer),
    ("case_id", Integer),
    ("kind", String),
    ("title", String),
    ("body", Text),
    ("link", String),
)
_OUTBOX_COLUMNS = (
    ("case_id", Integer),
    ("channel", String),
    ("kind", String),
    ("payload", JSONB),
    ("idempotency_key", String),
)


def _pg_insert(model: Any, columns: Sequence[tuple[str, Any]], constants: Sequence[str]) -> Any:
    """INSERT … SELECT FROM jsonb_to_recordset(:rows): a chunk travels as ONE JSON document."""
    names = [name for name, _ in columns]
    typed = [column(name, kind) for name, kind in columns]
    rows = func.jsonb_to_recordset(cast(bindparam("rows", type_=Text), JSONB)).table_valued(*typed)
    rows = rows.render_derived(name="r", with_types=True)
    now = bindparam("now", type_=model.created_at.type)
    source = select(*(rows.c[name] for name in names), *(now for _ in constants))
    statement = postgresql.insert(model).from_select([*names, *constants], source)
    return statement.on_conflict_do_nothing() if model is OutboxEvent else statement


_PG_NOTIFICATIONS = _pg_insert(Notification, _NOTIFICATION_COLUMNS, ["created_at"])
_PG_OUTBOX = _pg_insert(OutboxEvent, _OUTBOX_COLUMNS, ["created_at", "next_attempt_at"])


def _chunks(rows: Sequence[dict[str, Any]], size: int) -> Iterable[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _pg_write(session: Session, statement: Any, columns: Sequence[tuple[str, Any]], rows: Any) -> None:
    names = [name for name, _ in columns]
    for chunk in _chunks(rows, WRITE_CHUNK):
        document = json.dumps([{name: row[name] for name in names} for row in chunk], ensure_ascii=False)
        session.connection().execute(statement, {"rows": document, "now": chunk[0]["created_at"]})


def write_notifications(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Inbox rows (all created at the same moment) in multi-row INSERTs."""
    if session.connection().dialect.name == "postgresql":
        _pg_write(session, _PG_NOTIFICATIONS, _NOTIFICATION_COLUMNS, rows)
    elif rows:
        session.connection().execute(insert(Notification), list(rows))


def write_outbox(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """New outbox rows (created and due at the same moment); a key already queued is skipped."""
    if session.connection().dialect.name == "postgresql":
        _pg_write(session, _PG_OUTBOX, _OUTBOX_COLUMNS, rows)
    else:
        write_events(session, rows)


_ALERT_COLUMNS = (
    Alert.id,
    Alert.case_id,
    Alert.department_code,
    Alert.level,
    Alert.rule,
    Alert.explanation,
    Alert.raised_at,
    Case.number.label("case_number"),
    Case.kind.label("case_kind"),
    Case.title.label("case_title"),
    Case.service_item_id,
    HumanTask.id.label("task_id"),
    HumanTask.name.label("task_name"),
    HumanTask.bpmn_id,
    HumanTask.task_uuid,
    HumanTask.candidate_role,
    HumanTask.candidate_department,
    HumanTask.due_at,
    HumanTask.assignee_id,
)


def load_alerts(session: Session, keys: Sequence[str]) -> list[dict[str, Any]]:
    """The alerts with these dedupe keys joined to their case and step, by alert id."""
    query = (
        select(*_ALERT_COLUMNS)
        .join(Case, Case.id == Alert.case_id)
        .outerjoin(HumanTask, HumanTask.id == Alert.human_task_id)
    )
    if session.connection().dialect.name == "postgresql":  # the keys as ONE JSON array
        wanted = select(func.jsonb_array_elements_text(cast(bindparam("keys", type_=Text), JSONB)))
        query = query.where(Alert.dedupe_key.in_(wanted.scalar_subquery()))
        found = session.execute(query, {"keys": json.dumps(list(keys))})
        rows = [dict(row._mapping) for row in found]
    else:
        rows = []
        for start in range(0, len(keys), CHUNK):
            chunk = query.where(Alert.dedupe_key.in_(keys[start : start + CHUNK]))
            rows.extend(dict(row._mapping) for row in session.execute(chunk))
    return sorted(rows, key=lambda row: int(row["id"]))


def _item_contexts(session: Session, item_ids: set[int]) -> dict[int, tuple[str | None, str | None]]:
    """(item code, item department code) per catalogue item, as `_item_context` reads them."""
    if not item_ids:
        return {}
    query = (
        select(ServiceItem.id, ServiceItem.code, Department.code)
        .join(Department, Department.id == ServiceItem.department_id)
        .where(ServiceItem.id.in_(sorted(item_ids)))
    )
    return {item_id: (code, department) for item_id, code, department in session.execute(query)}


def _contacts(session: Session, user_ids: set[int]) -> dict[int, tuple[str | None, str | None]]:
    """(e-mail, phone) of the active users among `user_ids`."""
    ids = sorted(user_ids)
    found: dict[int, tuple[str | None, str | None]] = {}
    for start in range(0, len(ids), CHUNK):
        query = select(User.id, User.email, User.phone).where(
            User.id.in_(ids[start : start + CHUNK]), User.active.is_(True)
        )
        found.update({row.id: (row.email, row.phone) for row in session.execute(query)})
    return found


def _task(row: dict[str, Any]) -> dict[str, Any] | None:
    """The step columns of an alert row (step_info's names), None for a case-level alert."""
    if row["task_id"] is None:
        return None
    return {
        "id": row["task_id"],
        "name": row["task_name"],
        "bpmn_id": row["bpmn_id"],
        "task_uuid": row["task_uuid"],
        "candidate_role": row["candidate_role"],
        "candidate_department": row["candidate_department"],
        "due_at": row["due_at"],
        "assignee_id": row["assignee_id"],
    }


class _Recipients:
    """Role holders per (role, department), each asked of the database once."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.memo: dict[tuple[str, str | None], list[int]] = {}

    def holders(self, role: str, department: str | None) -> list[int]:
        key = (role, department)
        if key not in self.memo:
            self.memo[key] = role_holders(self.session, role, department)
        return self.memo[key]

    def of(self, row: dict[str, Any], task: dict[str, Any] | None) -> list[int]:
        return list(dict.fromkeys(alert_recipients(row["level"], row["department_code"], task, self.holders)))


def _events(session: Session, rows: Sequence[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The alert.raised outbox rows, as `emit_alert_raised` builds them (sequence: the alert id)."""
    items = _item_contexts(session, {row["service_item_id"] for row in rows if row["service_item_id"]})
    events = []
    for row in rows:
        case = CaseRef(row["case_id"], row["case_number"], row["case_kind"])
        data = alert_raised_data(row["id"], row["level"], row["rule"], row["explanation"])
        task = _task(row)
        step = step_info(task) if task is not None else None
        context = items.get(row["service_item_id"], (None, None))
        events.append(build_event(case, "alert.raised", str(row["id"]), data, now, context, step))
    return events


def _deliveries(
    session: Session, rows: Sequence[dict[str, Any]], now: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Inbox, e-mail and SMS rows, as `route_alert` writes them alert by alert."""
    recipients = _Recipients(session)
    told = [(row, _task(row)) for row in rows]
    people = [(row, task, recipients.of(row, task)) for row, task in told]
    contacts = _contacts(session, {user_id for *_, users in people for user_id in users})
    inbox: list[dict[str, Any]] = []
    emails: list[dict[str, Any]] = []
    texts: list[dict[str, Any]] = []
    for row, task, users in people:
        case = {"id": row["case_id"], "number": row["case_number"], "title": row["case_title"]}
        message, sms = alert_message(row, case, task)
        case_id, key = message["case_id"], f"alert:{row['id']}"
        title, body = message["title"], message["body"]
        inbox.extend(notification_rows(users, message["kind"], title, body, message["link"], case_id, now))
        for user_id in sorted(user for user in users if user in contacts):
            email, phone = contacts[user_id]
            if email:
                emails.append(email_row(email, title, body, now, f"{key}:email:{user_id}", case_id))
            if sms is not None and phone:
                params = sms["params"]
                texts.append(sms_row(phone, sms["template"], params, now, f"{key}:sms:{user_id}", case_id))
    return inbox, emails, texts


def announce_many(session: Session, keys: Sequence[str], now: datetime) -> list[int]:
    """alert.raised events and routing for the alerts with these dedupe keys; return their ids."""
    session.flush()
    rows = load_alerts(session, keys)
    if not rows:
        return []
    write_outbox(session, _events(session, rows, now))
    inbox, emails, texts = _deliveries(session, rows, now)
    write_notifications(session, inbox)
    write_outbox(session, emails)
    write_outbox(session, texts)
    return [int(row["id"]) for row in rows]
