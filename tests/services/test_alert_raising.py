"""Raising alerts in bulk (`raise_alerts`: on PostgreSQL one statement that also builds the alert.raised
payloads in SQL) writes exactly what inserting the alerts and routing them one by one writes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.models import Alert, Notification, OutboxEvent, User
from app.services.alerts import raise_alerts
from app.services.deadline_rules import alert_row
from app.services.delivery.routing import route_alert
from app.services.events import emit_alert_raised
from app.services.step_events import publish_case_events
from tests.factories import create_user
from tests.services import supervision_data as data
from tests.services.receivers import clear_outbox
from tests.services.written_rows import Rows, inbox_rows, outbox_rows


@pytest.fixture(autouse=True)
def _empty_outbox(session: Session) -> None:
    clear_outbox(session)


def _person(session: Session, now: datetime, role: tuple[str, str], n: int, phone: bool = True) -> User:
    user = create_user(session, now, roles=[role])
    user.email = f"raise{n}@example.gov.cn"
    user.phone = f"1380000000{n}" if phone else None
    return user


@pytest.fixture
def rows(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Alert rows as the scan builds them: steps with and without a due date, an assigned step, a step
    with no department, case-level cards, cases with and without a catalogue item, and red cards."""
    handler = _person(session, now, ("approver", "market"), 1)
    _person(session, now, ("approver", "market"), 2, phone=False)
    _person(session, now, ("dept_head", "market"), 3)
    _person(session, now, ("supervisor", "supervision"), 4)
    pv = data.version(session, now)
    item = data.item(session)
    created = now - timedelta(days=9)
    with_item = data.case(session, pv, created, service_item=item)
    without_item = data.case(session, pv, created)
    due = datetime(2026, 11, 20, 15, 59, 59, 999999, tzinfo=now.tzinfo)
    steps = [
        data.task(session, with_item, created, due),
        data.task(session, with_item, created, due.replace(microsecond=0), name="出件"),
        data.task(session, without_item, created, None, department=None),
        data.task(session, without_item, created, due, department=""),
    ]
    steps[1].assignee_id = handler.id
    session.flush()
    publish_case_events(session, now)  # the step.started events of the cases, out of the way
    clear_outbox(session)
    made = []
    for n, step in enumerate(steps):
        for level in ("warning", "yellow", "red"):
            key = f"{step.case_id}:{step.id}:{level}"
            number = with_item.number if step.case_id == with_item.id and n % 2 else None
            dept = step.candidate_department or None
            made.append(
                alert_row(key, step.case_id, step.id, dept, level, "step_overdue", "已超期", now, number)
            )
    for case in (with_item, without_item):
        for level, dept in (("yellow", "market"), ("warning", None), ("red", None)):
            key = f"{case.id}:-:{level}"
            made.append(
                alert_row(key, case.id, None, dept, level, "case_overdue", "办件超期", now, case.number)
            )
    return made


def _written(session: Session) -> tuple[Rows, Rows, Rows]:
    """Alerts, inbox rows and outbox rows (by channel: delivery keeps the order per case and channel), each
    in id order, without the ids of inbox and outbox rows."""
    session.expire_all()
    alerts = session.execute(
        select(
            Alert.id, Alert.dedupe_key, Alert.case_id, Alert.human_task_id, Alert.department_code,
            Alert.level, Alert.rule, Alert.explanation, Alert.raised_at,
        ).order_by(Alert.id)
    )  # fmt: skip
    return [tuple(r) for r in alerts], inbox_rows(session), outbox_rows(session, by_channel=True)


def _forget(session: Session) -> None:
    session.execute(delete(Notification))
    session.execute(delete(OutboxEvent))
    session.execute(delete(Alert))
    session.expire_all()


def test_raising_in_bulk_writes_what_routing_one_by_one_writes(
    session: Session, rows: list[dict[str, Any]], now: datetime
) -> None:
    raised = raise_alerts(session, rows, now)
    assert [row["id"] for row in raised] == sorted(row["id"] for row in raised)
    assert [(row["case_id"], row["level"]) for row in raised] == [
        (row["case_id"], row["level"]) for row in rows
    ]
    bulk = _written(session)
    alerts, notes, outbox = bulk
    assert len(alerts) == len(rows) and [a[1] for a in alerts] == [row["dedupe_key"] for row in rows]
    kinds = {(channel, kind) for _, channel, kind, *_ in outbox}
    assert {("webhook", "alert.raised"), ("email", "email"), ("sms", "GOVFLOW_ALERT_RED")} <= kinds
    assert notes and {
        payload["item_code"] for _, channel, _, payload, *_ in outbox if channel == "webhook"
    } > {None}
    _forget(session)
    for alert_id, key, case_id, task_id, dept, level, rule, text, raised_at in alerts:
        alert = Alert(
            id=alert_id, dedupe_key=key, case_id=case_id, human_task_id=task_id, department_code=dept,
            level=level, rule=rule, explanation=text, raised_at=raised_at,
        )  # fmt: skip
        session.add(alert)
        session.flush()
        emit_alert_raised(session, alert, now)
        route_alert(session, alert, now)
    assert _written(session) == bulk


def test_existing_keys_are_skipped_with_their_events(
    session: Session, rows: list[dict[str, Any]], now: datetime
) -> None:
    first = raise_alerts(session, rows[:5], now)
    before = _written(session)
    later = now + timedelta(minutes=5)
    again = raise_alerts(session, [{**row, "raised_at": later} for row in rows[:7]], later)
    alerts, _, outbox = _written(session)
    assert alerts[:5] == before[0] and len(alerts) == 7
    assert [alert[:2] for alert in alerts[5:]] == [
        (row["id"], key["dedupe_key"]) for row, key in zip(again, rows[5:7], strict=True)
    ]
    assert min(row["id"] for row in again) > max(row["id"] for row in first)
    webhook = [payload["data"]["alert_id"] for _, channel, _, payload, *_ in outbox if channel == "webhook"]
    assert webhook == [alert[0] for alert in alerts]  # one event per alert, in alert order
    assert raise_alerts(session, rows[:7], later) == [] and raise_alerts(session, [], later) == []
