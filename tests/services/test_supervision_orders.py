"""督办 orders: issue, reply, close, escalate; who may do what; audit and notifications."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEvent, Notification, User
from app.services.errors import Conflict, InvalidInput, PermissionDenied
from app.services.supervision_orders import close_order, escalate_order, issue_order, reply_order
from tests.factories import create_user
from tests.services import supervision_data as data


@pytest.fixture
def people(session: Session, now: datetime) -> dict[str, User]:
    return {
        "supervisor": create_user(session, now, roles=[("supervisor", "supervision")]),
        "head": create_user(session, now, roles=[("dept_head", "market")]),
        "other_head": create_user(session, now, roles=[("dept_head", "tax")]),
        "approver": create_user(session, now, roles=[("approver", "market")]),
    }


def test_the_life_of_an_order(session: Session, people: dict[str, User], now: datetime) -> None:
    case = data.case(session, data.version(session, now), now)
    order = issue_order(
        session, case.id, "market", "请说明超期原因", now + timedelta(days=2), people["supervisor"], now
    )
    assert (order.level, order.status) == ("blue", "open")
    assert escalate_order(session, order.id, people["supervisor"], now).level == "orange"
    assert escalate_order(session, order.id, people["supervisor"], now).level == "red"
    with pytest.raises(Conflict):
        escalate_order(session, order.id, people["supervisor"], now)
    reply_order(session, order.id, "已于今日办结", people["head"], now + timedelta(hours=3))
    assert (order.status, order.reply) == ("replied", "已于今日办结")
    close_order(session, order.id, people["supervisor"], now + timedelta(hours=4))
    assert order.status == "closed" and order.closed_at is not None
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.case_id == case.id)).all()
    assert [a for a in actions if a.startswith("supervision.")] == [
        "supervision.order_issued",
        "supervision.order_escalated",
        "supervision.order_escalated",
        "supervision.order_replied",
        "supervision.order_closed",
    ]
    notified = session.scalars(
        select(Notification.user_id).where(Notification.kind == "supervision_order")
    ).all()
    assert people["head"].id in notified and people["supervisor"].id in notified


def test_an_order_without_a_case(session: Session, people: dict[str, User], now: datetime) -> None:
    order = issue_order(
        session, None, "market", "排查窗口积压", now + timedelta(days=1), people["supervisor"], now
    )
    assert order.case_id is None and order.department.code == "market"


@pytest.mark.parametrize(
    ("department", "instruction", "hours", "fields"),
    [
        ("nowhere", "要求", 24, {"department_code"}),
        ("market", "  ", 24, {"instruction"}),
        ("market", "要求", -1, {"deadline"}),
        ("nowhere", "", -1, {"department_code", "instruction", "deadline"}),
    ],
)
def test_invalid_orders(
    session: Session,
    people: dict[str, User],
    now: datetime,
    department: str,
    instruction: str,
    hours: int,
    fields: set[str],
) -> None:
    with pytest.raises(InvalidInput) as error:
        issue_order(
            session, None, department, instruction, now + timedelta(hours=hours), people["supervisor"], now
        )
    assert set(error.value.details or {}) == fields


@pytest.mark.parametrize("actor", ["head", "approver"])
def test_only_supervisors_issue_close_and_escalate(
    session: Session, people: dict[str, User], now: datetime, actor: str
) -> None:
    with pytest.raises(PermissionDenied):
        issue_order(session, None, "market", "要求", now + timedelta(days=1), people[actor], now)
    order = issue_order(session, None, "market", "要求", now + timedelta(days=1), people["supervisor"], now)
    for operation in (close_order, escalate_order):
        with pytest.raises(PermissionDenied):
            operation(session, order.id, people[actor], now)


@pytest.mark.parametrize("actor", ["other_head", "approver", "supervisor"])
def test_only_the_ordered_departments_head_replies(
    session: Session, people: dict[str, User], now: datetime, actor: str
) -> None:
    order = issue_order(session, None, "market", "要求", now + timedelta(days=1), people["supervisor"], now)
    with pytest.raises(PermissionDenied):
        reply_order(session, order.id, "答复", people[actor], now)


def test_a_reply_needs_text_and_an_open_order(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    order = issue_order(session, None, "market", "要求", now + timedelta(days=1), people["supervisor"], now)
    with pytest.raises(InvalidInput):
        reply_order(session, order.id, " ", people["head"], now)
    close_order(session, order.id, people["supervisor"], now)
    with pytest.raises(Conflict):
        reply_order(session, order.id, "答复", people["head"], now)
