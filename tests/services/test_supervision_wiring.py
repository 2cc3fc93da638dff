"""Supervision services write their outbox events and in-app notifications in the same transaction."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Alert, Notification, OutboxEvent, User
from app.services.alerts import scan_deadlines
from app.services.anomalies import run_anomaly_rules
from app.services.clocks import end_pause, start_pause
from app.services.runtime import invalidate_calendar
from app.services.supervision_orders import close_order, escalate_order, issue_order, reply_order
from tests.factories import create_user
from tests.services import supervision_data as data


@pytest.fixture(autouse=True)
def _fresh_calendar() -> Iterator[None]:
    invalidate_calendar()
    yield
    invalidate_calendar()


@pytest.fixture
def people(session: Session, now: datetime) -> dict[str, User]:
    return {
        "head": create_user(session, now, roles=[("dept_head", "market")]),
        "approver": create_user(session, now, roles=[("approver", "market")]),
        "supervisor": create_user(session, now, roles=[("supervisor", "supervision")]),
    }


def _events(session: Session, kind: str, channel: str = "webhook") -> list[OutboxEvent]:
    query = select(OutboxEvent).where(OutboxEvent.kind == kind, OutboxEvent.channel == channel)
    return list(session.scalars(query.order_by(OutboxEvent.id)))


def _inbox(session: Session, user: User) -> list[Notification]:
    return list(session.scalars(select(Notification).where(Notification.user_id == user.id)))


def _overdue_task(session: Session, now: datetime) -> None:
    pv = data.version(session, now)
    case = data.case(session, pv, now - timedelta(days=10), service_item=data.item(session))
    data.task(session, case, now - timedelta(days=10), now - timedelta(days=1))


def test_scan_emits_and_routes_new_alerts_once(
    session: Session, now: datetime, people: dict[str, User]
) -> None:
    people["head"].email = "head@example.gov.cn"
    _overdue_task(session, now)
    report = scan_deadlines(session, now)
    assert report.by_level == {"yellow": 2}  # the step card and the case card (both past their limit)
    alerts = session.scalars(select(Alert).order_by(Alert.id)).all()
    events = _events(session, "alert.raised")
    assert [e.payload["data"]["alert_id"] for e in events] == [a.id for a in alerts]
    assert {e.payload["data"]["level"] for e in events} == {"yellow"}
    # 黄牌 → the department head (inbox + e-mail) and the step's handlers (inbox)
    assert [n.kind for n in _inbox(session, people["head"])] == ["alert.yellow", "alert.yellow"]
    assert "alert.yellow" in {n.kind for n in _inbox(session, people["approver"])}
    emails = session.scalars(select(OutboxEvent).where(OutboxEvent.channel == "email")).all()
    assert [e.payload["to"] for e in emails] == ["head@example.gov.cn"] * 2
    scan_deadlines(session, now + timedelta(minutes=5))
    assert len(_events(session, "alert.raised")) == 2  # nothing new: nothing emitted or routed again
    assert len(_inbox(session, people["head"])) == 2


def test_anomalies_are_routed_to_the_supervision_office(
    session: Session, now: datetime, people: dict[str, User]
) -> None:
    _overdue_task(session, now)
    found = run_anomaly_rules(session, now)
    assert [a.rule_code for a in found] == ["step_overdue"]
    assert [n.kind for n in _inbox(session, people["supervisor"])] == ["anomaly"]
    run_anomaly_rules(session, now + timedelta(minutes=5))
    assert len(_inbox(session, people["supervisor"])) == 1


def test_order_lifecycle_emits_events(session: Session, now: datetime, people: dict[str, User]) -> None:
    deadline = now + timedelta(days=3)
    order = issue_order(session, None, "market", "请核查超期原因", deadline, people["supervisor"], now)
    escalate_order(session, order.id, people["supervisor"], now)
    reply_order(session, order.id, "已整改", people["head"], now)
    close_order(session, order.id, people["supervisor"], now)
    events = _events(session, "supervision.order")
    assert [(e.payload["data"]["action"], e.payload["data"]["level"]) for e in events] == [
        ("issued", "blue"),
        ("escalated", "orange"),
        ("replied", "orange"),
        ("closed", "orange"),
    ]
    assert events[0].idempotency_key == f"-:supervision.order:{order.id}.issued.blue"


def test_clock_pause_and_resume_emit_events(session: Session, now: datetime, people: dict[str, User]) -> None:
    pv = data.version(session, now)
    item = data.item(session, special_steps=[{"name": "专家评审", "counts": False, "max_days": 20}])
    case = data.case(session, pv, now - timedelta(days=2), service_item=item)
    pause = start_pause(session, case, "专家评审", "论证", people["approver"], now)
    end_pause(session, pause.id, people["approver"], now + timedelta(days=1))
    in_order = select(OutboxEvent).where(OutboxEvent.case_id == case.id).order_by(OutboxEvent.id)
    kinds = [e.kind for e in session.scalars(in_order)]
    assert kinds == ["clock.paused", "clock.resumed"]
    resumed = _events(session, "clock.resumed")[0]
    assert (
        resumed.payload["data"]["pause_id"] == pause.id
        and resumed.payload["actor"]["id"] == people["approver"].id
    )
