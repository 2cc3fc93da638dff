"""Announcing many anomalies at once (`announce_anomalies`) writes what `route_anomaly` writes one by one."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.models import Anomaly, Notification, OutboxEvent
from app.services.alert_routing import announce_anomalies
from app.services.delivery.routing import route_anomaly
from app.services.step_events import publish_case_events
from tests.factories import create_user
from tests.services import supervision_data as data
from tests.services.receivers import clear_outbox
from tests.services.written_rows import Rows, inbox_rows, outbox_rows


def _written(session: Session) -> tuple[Rows, Rows]:
    """Inbox and outbox rows in id order, without their ids."""
    session.expire_all()
    return inbox_rows(session), outbox_rows(session)


def _forget(session: Session) -> None:
    session.execute(delete(Notification))
    session.execute(delete(OutboxEvent))
    session.expire_all()


def test_announcing_anomalies_in_bulk_writes_what_routing_one_by_one_writes(
    session: Session, now: datetime
) -> None:
    office = [create_user(session, now, roles=[("supervisor", "supervision")]) for _ in range(3)]
    office[0].email, office[0].phone = "office0@example.gov.cn", "13900000000"
    office[1].email = None  # inbox only
    office[2].email, office[2].active = "gone@example.gov.cn", False  # left: told nothing
    pv = data.version(session, now)
    cases = [data.case(session, pv, now - timedelta(days=3)) for _ in range(3)]
    anomalies = [
        Anomaly(
            case_id=case.id, rule_code=rule, severity="normal", explanation=f"{rule}：事实", facts={},
            detected_at=now,
        )
        for case in cases
        for rule in ("step_overdue", "repeated_return")
    ]  # fmt: skip
    session.add_all(anomalies)
    session.flush()
    publish_case_events(session, now)
    clear_outbox(session)
    session.execute(delete(Notification))
    for anomaly in sorted(anomalies, key=lambda a: a.id):
        route_anomaly(session, anomaly, now)
    one_by_one = _written(session)
    notes, outbox = one_by_one
    assert len(notes) == 2 * len(anomalies) and len(outbox) == len(anomalies)  # e-mail: office[0] only
    _forget(session)
    assert announce_anomalies(session, list(reversed(anomalies)), now) == len(notes)
    assert _written(session) == one_by_one
    assert announce_anomalies(session, [], now) == 0


def test_no_one_in_the_office_means_nothing_is_written(session: Session, now: datetime) -> None:
    pv = data.version(session, now)
    case = data.case(session, pv, now)
    anomaly = Anomaly(
        case_id=case.id,
        rule_code="step_overdue",
        severity="normal",
        explanation="x",
        facts={},
        detected_at=now,
    )
    session.add(anomaly)
    session.flush()
    publish_case_events(session, now)
    clear_outbox(session)
    session.execute(delete(Notification))
    assert announce_anomalies(session, [anomaly], now) == 0
    assert _written(session) == ([], [])
