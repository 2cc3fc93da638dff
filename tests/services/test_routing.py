"""Who is told what: alerts by level, anomalies, 特急 documents — inbox rows and queued e-mail/SMS."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Alert, Anomaly, Case, HumanTask, Notification, OutboxEvent, User
from app.services.cases import open_tasks, start_case
from app.services.delivery.routing import route_alert, route_anomaly
from tests.factories import create_user
from tests.services.helpers import deploy_fixture
from tests.services.receivers import clear_outbox


def _contact(user: User, n: int, phone: bool = True) -> User:
    user.email = f"user{n}@example.gov.cn"
    user.phone = f"1380000000{n}" if phone else None
    return user


@pytest.fixture(autouse=True)
def _empty_outbox(session: Session) -> None:
    clear_outbox(session)


@pytest.fixture
def people(session: Session, now: datetime) -> dict[str, User]:
    users = {
        "handler": _contact(create_user(session, now, roles=[("clerk", "approval")]), 1),
        "head": _contact(create_user(session, now, roles=[("dept_head", "approval")]), 2),
        "other_head": _contact(create_user(session, now, roles=[("dept_head", "tax")]), 3),
        "supervisor": _contact(create_user(session, now, roles=[("supervisor", "supervision")]), 4),
        "supervisor_no_phone": _contact(
            create_user(session, now, roles=[("supervisor", "supervision")]), 5, phone=False
        ),
    }
    session.flush()
    return users


@pytest.fixture
def work(session: Session, people: dict[str, User], now: datetime) -> HumanTask:
    deploy_fixture(session, "mini_timer", now)
    case = start_case(session, "mini_timer", {}, people["handler"], now)
    [task] = open_tasks(session, case)
    task.assignee_id = people["handler"].id
    session.flush()
    return task


def _alert(session: Session, task: HumanTask, level: str, now: datetime) -> Alert:
    alert = Alert(
        dedupe_key=f"{task.case_id}:{task.id}:{level}",
        case_id=task.case_id,
        human_task_id=task.id,
        department_code="approval",
        level=level,
        rule="step_limit",
        explanation="办理环节已用时限 80%",
        raised_at=now,
    )
    session.add(alert)
    return alert


def _outbox(session: Session, channel: str) -> list[OutboxEvent]:
    query = select(OutboxEvent).where(OutboxEvent.channel == channel).order_by(OutboxEvent.id)
    return list(session.scalars(query))


def _inbox(session: Session) -> list[tuple[int, str]]:
    rows = session.execute(select(Notification.user_id, Notification.kind).order_by(Notification.id))
    return [(row.user_id, row.kind) for row in rows]


def test_a_warning_goes_to_the_handler(
    session: Session, people: dict[str, User], work: HumanTask, now: datetime
) -> None:
    routing = route_alert(session, _alert(session, work, "warning", now), now)
    handler = people["handler"].id
    assert (routing.inbox, routing.email, routing.sms) == ([handler], [handler], [])
    assert _inbox(session) == [(handler, "alert.warning")]
    [mail] = _outbox(session, "email")
    assert mail.payload["to"] == "user1@example.gov.cn" and mail.payload["subject"].startswith("【预警】")
    assert mail.case_id == work.case_id


def test_the_alert_notice_says_when_in_local_minutes(
    session: Session, people: dict[str, User], work: HumanTask, now: datetime
) -> None:
    route_alert(session, _alert(session, work, "warning", now), now)  # now: 2026-11-23 09:30 +08:00
    body = session.scalars(select(Notification.body)).one()
    assert body.endswith("发生时间：2026-11-23 09:30"), body  # not 2026-11-23T09:30:00+08:00
    [mail] = _outbox(session, "email")
    assert "发生时间：2026-11-23 09:30" in mail.payload["body"]


def test_a_yellow_card_adds_the_department_head_and_is_queued_once(
    session: Session, people: dict[str, User], work: HumanTask, now: datetime
) -> None:
    alert = _alert(session, work, "yellow", now)
    routing = route_alert(session, alert, now)
    assert sorted(routing.email) == sorted([people["handler"].id, people["head"].id])
    again = route_alert(session, alert, now)
    assert again.email == [] and len(_outbox(session, "email")) == 2  # e-mail once per alert and person


def test_a_red_card_goes_to_the_supervision_office_by_sms_too(
    session: Session, people: dict[str, User], work: HumanTask, now: datetime
) -> None:
    routing = route_alert(session, _alert(session, work, "red", now), now)
    office = sorted([people["supervisor"].id, people["supervisor_no_phone"].id])
    assert sorted(routing.inbox) == office and sorted(routing.email) == office
    assert routing.sms == [people["supervisor"].id]
    [sms] = _outbox(session, "sms")
    assert sms.payload["phone"] == "13800000004" and sms.payload["template"] == "GOVFLOW_ALERT_RED"
    assert sms.payload["params"]["level"] == "红牌"


def test_an_anomaly_goes_to_the_supervision_office(
    session: Session, people: dict[str, User], work: HumanTask, now: datetime
) -> None:
    anomaly = Anomaly(
        case_id=work.case_id,
        rule_code="closed_instantly",
        explanation="受理即办结",
        facts={},
        detected_at=now,
    )
    session.add(anomaly)
    routing = route_anomaly(session, anomaly, now)
    assert sorted(routing.email) == sorted([people["supervisor"].id, people["supervisor_no_phone"].id])
    assert routing.sms == [] and {kind for _, kind in _inbox(session)} == {"anomaly"}


def test_an_extra_urgent_document_texts_its_handlers(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    deploy_fixture(session, "mini_parallel", now)
    data = {"departments": ["market"], "urgency": "特急"}
    case = start_case(session, "mini_parallel", data, people["handler"], now, kind="document")
    [sms] = _outbox(session, "sms")
    assert sms.payload["phone"] == "13800000001" and sms.payload["template"] == "GOVFLOW_URGENT_DOCUMENT"
    assert sms.payload["params"]["case"] == case.number
    normal = start_case(session, "mini_parallel", {"departments": ["market"]}, people["handler"], now)
    assert session.get_one(Case, normal.id).kind == "application"
    assert len(_outbox(session, "sms")) == 1  # 平件 and applications: no SMS
