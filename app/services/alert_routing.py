"""Announcing many new alerts at once: alert.raised events, inbox rows, e-mail and SMS, set-based.

The deadline scan can raise 100 000 alerts in one run, the anomaly rules tens of thousands of anomalies.
`announce_many` produces exactly what `emit_alert_raised` + `route_alert` produce alert by alert (same
payloads, same idempotency keys, ON CONFLICT DO NOTHING on the outbox) and `announce_anomalies` what
`route_anomaly` produces anomaly by anomaly, but they read the alerts, cases, tasks, catalogue items and
contacts in a few queries, ask for each distinct set of recipients once, and write each kind of row in
bulk: on PostgreSQL by COPY (into the table, or into a temporary table followed by ONE
INSERT … SELECT … ON CONFLICT DO NOTHING, which also RETURNs the new alerts joined to their case and step),
on SQLite in multi-row INSERTs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    cast,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from app.models import Alert, Case, Department, HumanTask, Notification, OutboxEvent, ServiceItem, User
from app.services.delivery.outbox import email_row, sms_row
from app.services.delivery.routing import SUPERVISION_ROLE, alert_message, alert_recipients
from app.services.directory import role_holders
from app.services.event_envelope import CaseRef, build_event, step_info
from app.services.events import alert_raised_data, publish_before, write_events
from app.services.notifications import notification_rows
from app.services.step_events import publish_case_events

CHUNK = 5000  # keys per IN list (SQLite bound-parameter limit)


class AnomalyFacts(Protocol):
    """What announcing an anomaly reads of it (an `Anomaly` row)."""

    @property
    def id(self) -> int: ...

    @property
    def case_id(self) -> int: ...

    @property
    def explanation(self) -> str: ...


# PostgreSQL bulk loading: rows travel by COPY into a temporary table (no WAL, no JSON document to
# parse), then ONE INSERT … SELECT … ORDER BY seq ON CONFLICT DO NOTHING gives them their ids in order.
_LOAD = MetaData()
OUTBOX_LOAD = Table(
    "govflow_outbox_load",
    _LOAD,
    Column("seq", Integer),
    Column("case_id", Integer),
    Column("channel", String),
    Column("kind", String),
    Column("payload", JSONB),
    Column("idempotency_key", String),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
_OUTBOX_COLUMNS = ("case_id", "channel", "kind", "payload", "idempotency_key")
_NOTIFICATION_COLUMNS = ("user_id", "case_id", "kind", "title", "body", "link", "created_at")


def fresh_load_table(session: Session, table: Table) -> None:
    """Create (once per transaction) or empty the temporary load table on the session's connection."""
    connection = session.connection()
    table.create(connection, checkfirst=True)
    connection.execute(text(f"TRUNCATE {table.name}"))


def pg_copy(session: Session, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY rows (text format: datetimes must be naive UTC) into `table` on the session's connection."""
    raw = session.connection().connection.driver_connection
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row(row)


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _pg_write_outbox(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    fresh_load_table(session, OUTBOX_LOAD)
    dumps = json.dumps
    pg_copy(
        session,
        OUTBOX_LOAD.name,
        ("seq", *_OUTBOX_COLUMNS),
        (
            (n, row["case_id"], row["channel"], row["kind"], dumps(row["payload"]), row["idempotency_key"])
            for n, row in enumerate(rows)
        ),
    )
    now = bindparam("now", type_=OutboxEvent.created_at.type)
    source = select(*(OUTBOX_LOAD.c[name] for name in _OUTBOX_COLUMNS), now, now, literal(0))
    statement = (
        postgresql.insert(OutboxEvent)
        .from_select(  # ORDER BY seq: the ids follow the order of `rows`
            [*_OUTBOX_COLUMNS, "created_at", "next_attempt_at", "attempts"],
            source.order_by(OUTBOX_LOAD.c.seq),
        )
        .on_conflict_do_nothing()
    )
    session.connection().execute(statement, {"now": rows[0]["created_at"]})


def write_notifications(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Inbox rows: COPY on PostgreSQL (no conflicts possible), one multi-row INSERT on SQLite."""
    if not rows:
        return
    if session.connection().dialect.name == "postgresql":
        pg_copy(
            session,
            Notification.__tablename__,
            _NOTIFICATION_COLUMNS,
            (
                (
                    r["user_id"],
                    r["case_id"],
                    r["kind"],
                    r["title"],
                    r["body"],
                    r["link"],
                    _naive_utc(r["created_at"]),
                )
                for r in rows
            ),
        )
    else:
        session.connection().execute(insert(Notification), list(rows))


def write_outbox(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """New outbox rows (created and due at the same moment, ids in this order); a key already queued
    is skipped."""
    if not rows:
        return
    if session.connection().dialect.name == "postgresql":
        publish_case_events(session, rows[0]["created_at"], publish_before(rows))  # as write_events does
        _pg_write_outbox(session, rows)
    else:
        write_events(session, rows)


ALERT_COLUMNS = (
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
        select(*ALERT_COLUMNS)
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
    """Role holders per (role, department), each asked of the database once; recipients per distinct
    (level, department, assignee, candidate role, candidate department)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.memo: dict[tuple[str, str | None], list[int]] = {}
        self.told: dict[tuple[Any, ...], list[int]] = {}

    def holders(self, role: str, department: str | None) -> list[int]:
        key = (role, department)
        if key not in self.memo:
            self.memo[key] = role_holders(self.session, role, department)
        return self.memo[key]

    def of(self, row: dict[str, Any], task: dict[str, Any] | None) -> list[int]:
        key = (row["level"], row["department_code"], row["task_id"] is None, *_who(row))
        if key not in self.told:
            users = alert_recipients(row["level"], row["department_code"], task, self.holders)
            self.told[key] = list(dict.fromkeys(users))
        return self.told[key]


def _who(row: dict[str, Any]) -> tuple[Any, Any, Any]:
    return row["assignee_id"], row["candidate_role"], row["candidate_department"]


def _events(session: Session, rows: Sequence[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The alert.raised outbox rows, as `emit_alert_raised` builds them (sequence: the alert id)."""
    items = _item_contexts(session, {row["service_item_id"] for row in rows if row["service_item_id"]})
    none = (None, None)
    events = []
    for row in rows:
        case = CaseRef(row["case_id"], row["case_number"], row["case_kind"])
        data = alert_raised_data(row["id"], row["level"], row["rule"], row["explanation"])
        task = _task(row)
        step = step_info(task) if task is not None else None
        context = items.get(row["service_item_id"], none)
        events.append(build_event(case, "alert.raised", str(row["id"]), data, now, context, step))
    return events


def _deliveries(
    session: Session, rows: Sequence[dict[str, Any]], now: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Inbox, e-mail and SMS rows, as `route_alert` writes them alert by alert."""
    recipients = _Recipients(session)
    people = []
    for row in rows:
        task = _task(row)
        users = recipients.of(row, task)
        if users:  # nobody to tell: no message to build
            people.append((row, task, users))
    contacts = _contacts(session, {user_id for *_, users in people for user_id in users})
    inbox: list[dict[str, Any]] = []
    emails: list[dict[str, Any]] = []
    texts: list[dict[str, Any]] = []
    for row, task, users in people:
        case = {"id": row["case_id"], "number": row["case_number"], "title": row["case_title"]}
        message, sms = alert_message(row, case, task)
        _tell(message, sms, users, contacts, f"alert:{row['id']}", now, (inbox, emails, texts))
    return inbox, emails, texts


def _tell(
    message: dict[str, Any],
    sms: dict[str, Any] | None,
    users: Sequence[int],
    contacts: dict[int, tuple[str | None, str | None]],
    key: str,
    now: datetime,
    into: tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    """Inbox rows for everyone, e-mail to those with an address, SMS (if any) to those with a phone."""
    inbox, emails, texts = into
    case_id, title, body = message["case_id"], message["title"], message["body"]
    inbox.extend(notification_rows(users, message["kind"], title, body, message["link"], case_id, now))
    for user_id in sorted(user for user in users if user in contacts):
        email, phone = contacts[user_id]
        if email:
            emails.append(email_row(email, title, body, now, f"{key}:email:{user_id}", case_id))
        if sms is not None and phone:
            texts.append(sms_row(phone, sms["template"], sms["params"], now, f"{key}:sms:{user_id}", case_id))


def announce_loaded(session: Session, rows: Sequence[dict[str, Any]], now: datetime) -> list[int]:
    """alert.raised events and routing for alert rows as `load_alerts` returns them (by alert id)."""
    if not rows:
        return []
    write_outbox(session, _events(session, rows, now))
    route_loaded(session, rows, now)
    return [int(row["id"]) for row in rows]


def route_loaded(session: Session, rows: Sequence[dict[str, Any]], now: datetime) -> None:
    """Inbox rows, e-mail and SMS for alert rows as `load_alerts` returns them (no alert.raised event)."""
    inbox, emails, texts = _deliveries(session, rows, now)
    write_notifications(session, inbox)
    write_outbox(session, emails)
    write_outbox(session, texts)


def announce_many(session: Session, keys: Sequence[str], now: datetime) -> list[int]:
    """alert.raised events and routing for the alerts with these dedupe keys; return their ids."""
    session.flush()
    return announce_loaded(session, load_alerts(session, keys), now)


def announce_anomalies(session: Session, anomalies: Sequence[AnomalyFacts], now: datetime) -> int:
    """异常办件 → the supervision office, as `route_anomaly` tells it anomaly by anomaly (inbox, and
    e-mail once per anomaly and person), for many anomalies at once; return the inbox rows written."""
    users = role_holders(session, SUPERVISION_ROLE, None)
    if not anomalies or not users:
        return 0
    cases = _case_numbers(session, {anomaly.case_id for anomaly in anomalies})
    contacts = _contacts(session, set(users))
    inbox: list[dict[str, Any]] = []
    emails: list[dict[str, Any]] = []
    for anomaly in sorted(anomalies, key=lambda a: a.id):
        number, title = cases[anomaly.case_id]
        message = {
            "kind": "anomaly",
            "title": f"【异常办件】{number}",
            "body": f"{title}\n{anomaly.explanation}",
            "link": f"/cases/{number}",
            "case_id": anomaly.case_id,
        }
        _tell(message, None, users, contacts, f"anomaly:{anomaly.id}", now, (inbox, emails, []))
    write_notifications(session, inbox)
    write_outbox(session, emails)
    return len(inbox)


def _case_numbers(session: Session, case_ids: set[int]) -> dict[int, tuple[str, str]]:
    """(number, title) per case."""
    ids = sorted(case_ids)
    found: dict[int, tuple[str, str]] = {}
    for start in range(0, len(ids), CHUNK):
        query = select(Case.id, Case.number, Case.title).where(Case.id.in_(ids[start : start + CHUNK]))
        found.update({case_id: (number, title) for case_id, number, title in session.execute(query)})
    return found
