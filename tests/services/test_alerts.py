"""The deadline scan: warning / yellow / red cards, thresholds per item and step, idempotence, resolution.

Fixed clock: Monday 2026-11-23 09:30 Shanghai; no holiday in November–December 2026 after National Day.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Alert, Case, ProcessVersion, User
from app.services.alerts import acknowledge_alert, scan_deadlines
from app.services.clocks import compute_case_clocks, start_pause
from app.services.errors import PermissionDenied
from app.services.runtime import invalidate_calendar, working_calendar
from app.services.supervision_orders import issue_order, reply_order
from tests.factories import create_user
from tests.services import supervision_data as data


@pytest.fixture(autouse=True)
def _fresh_calendar() -> Iterator[None]:
    invalidate_calendar()
    yield
    invalidate_calendar()


@pytest.fixture
def pv(session: Session, now: datetime) -> ProcessVersion:
    return data.version(session, now)


def _started(now: datetime, used: int) -> datetime:
    """An instant `used` working days before now (same time of day)."""
    calendar, day = working_calendar(), now
    while calendar.working_days_between(calendar.local_date(day), calendar.local_date(now)) < used:
        day -= timedelta(days=1)
    return day


def _step(session: Session, pv: ProcessVersion, now: datetime, used: int, limit: int, **kw: Any) -> Any:
    created = _started(now, used)
    case = data.case(session, pv, created, service_item=kw.pop("service_item", None))
    return data.task(session, case, created, working_calendar().due_at(created, limit), **kw)


def _alerts(session: Session) -> list[tuple[str, str]]:
    return sorted((a.level, a.rule) for a in session.scalars(select(Alert)))


@pytest.mark.parametrize(
    ("used", "limit", "properties", "expected"),
    [
        (4, 5, {}, [("warning", "step_due_soon")]),  # 80 % and one day left
        (0, 5, {}, []),  # just started
        (16, 20, {}, [("warning", "step_due_soon")]),  # 80 % with four days left
        (15, 20, {}, []),  # 75 %, five days left
        (16, 20, {"warningRatio": "0.9"}, []),  # the step asks for 90 %
        (10, 20, {"warningRatio": "0.5"}, [("warning", "step_due_soon")]),
        (2, 5, {"warningDays": "3"}, [("warning", "step_due_soon")]),  # three days left
        (10, 5, {}, [("yellow", "step_overdue")]),  # five days over
        (5, 5, {}, [("warning", "step_due_soon")]),  # due tonight: not yet over
    ],
)
def test_step_cards(
    session: Session,
    pv: ProcessVersion,
    now: datetime,
    used: int,
    limit: int,
    properties: dict[str, str],
    expected: list[tuple[str, str]],
) -> None:
    _step(session, pv, now, used, limit, properties=properties)
    report = scan_deadlines(session, now)
    assert _alerts(session) == expected
    assert report.raised == len(expected)


def test_the_explanation_names_the_facts(session: Session, pv: ProcessVersion, now: datetime) -> None:
    _step(session, pv, now, 4, 5)
    _step(session, pv, now, 10, 5, name="现场核查")
    scan_deadlines(session, now)
    texts = [a.explanation for a in session.scalars(select(Alert).order_by(Alert.level))]  # warning, yellow
    assert texts[0].startswith("步骤『部门审查』时限5个工作日，已用4个工作日（80%），剩余1个工作日")
    assert texts[1] == "步骤『现场核查』时限5个工作日，截止 2026-11-16，已超期5个工作日，仍未办结"


@pytest.mark.parametrize(
    ("settings", "expected"),
    [({}, []), ({"warning_days": 4}, ["warning"]), ({"warning_ratio": 0.6}, ["warning"])],
)
def test_item_thresholds(
    session: Session, pv: ProcessVersion, now: datetime, settings: dict[str, Any], expected: list[str]
) -> None:
    item = data.item(session, promised=20, settings=settings)  # the case itself is far from its limit
    _step(session, pv, now, 6, 10, service_item=item)  # 60 %, four days left
    scan_deadlines(session, now)
    assert [level for level, _ in _alerts(session)] == expected


def test_the_scan_is_idempotent_and_alerts_resolve(
    session: Session, pv: ProcessVersion, now: datetime
) -> None:
    task = _step(session, pv, now, 10, 5)
    first = scan_deadlines(session, now)
    second = scan_deadlines(session, now + timedelta(minutes=5))
    assert (first.raised, second.raised, second.resolved) == (1, 0, 0)
    task.state, task.completed_at = "completed", now
    session.flush()
    third = scan_deadlines(session, now + timedelta(minutes=10))
    assert (third.raised, third.resolved) == (0, 1)
    assert session.scalars(select(Alert)).one().resolved_at is not None


def test_closed_tasks_and_cases_get_no_card(session: Session, pv: ProcessVersion, now: datetime) -> None:
    _step(session, pv, now, 10, 5, state="completed", completed=now)
    task = _step(session, pv, now, 10, 5)
    case = session.get_one(Case, task.case_id)
    case.status, case.closed_at = "completed", now
    session.flush()
    assert scan_deadlines(session, now).raised == 0


def _item_case(session: Session, pv: ProcessVersion, now: datetime, used: int) -> Case:
    created = _started(now, used)
    case = data.case(session, pv, created, service_item=data.item(session, promised=5, statutory=20))
    compute_case_clocks(session, case, now)
    return case


@pytest.mark.parametrize(
    ("used", "expected"),
    [(4, [("warning", "case_due_soon")]), (2, []), (7, [("yellow", "case_overdue")])],
)
def test_case_cards(
    session: Session, pv: ProcessVersion, now: datetime, used: int, expected: list[tuple[str, str]]
) -> None:
    _item_case(session, pv, now, used)
    scan_deadlines(session, now)
    assert _alerts(session) == expected


def test_case_card_text_and_missing_clocks_are_filled(
    session: Session, pv: ProcessVersion, now: datetime
) -> None:
    created = _started(now, 4)
    case = data.case(session, pv, created, service_item=data.item(session, promised=5, statutory=20))
    assert case.promised_due_at is None
    scan_deadlines(session, now)
    [alert] = session.scalars(select(Alert))
    assert alert.explanation.startswith("办件承诺时限5个工作日，已用4个工作日（80%），剩余1个工作日")
    assert alert.department_code == "market"


def test_a_stopped_clock_gets_no_case_card(session: Session, pv: ProcessVersion, now: datetime) -> None:
    case = _item_case(session, pv, now, 7)
    data.task(
        session, case, now - timedelta(days=1), None, name="补正材料", properties={"pausesClock": "补正"}
    )
    assert scan_deadlines(session, now).raised == 0
    other = _item_case(session, pv, now, 7)
    other.service_item.special_steps = [{"name": "专家评审", "counts": False}]  # type: ignore[union-attr]
    clerk = create_user(session, now, roles=[("approver", "market")])
    start_pause(session, other, "专家评审", "", clerk, now - timedelta(hours=1))
    assert scan_deadlines(session, now).raised == 0


def test_red_card_for_an_unanswered_order(session: Session, pv: ProcessVersion, now: datetime) -> None:
    supervisor = create_user(session, now, roles=[("supervisor", "supervision")])
    head = create_user(session, now, roles=[("dept_head", "market")])
    case = data.case(session, pv, now - timedelta(days=3))
    order = issue_order(
        session, case.id, "market", "请于明日前办结", now + timedelta(days=1), supervisor, now
    )
    assert scan_deadlines(session, now).raised == 0  # not yet past the deadline
    later = now + timedelta(days=2)
    assert scan_deadlines(session, later).by_level == {"red": 1}
    [alert] = session.scalars(select(Alert))
    assert alert.rule == "order_overdue" and "期限已过仍未答复" in alert.explanation
    assert "于 2026-11-24 09:30 前办理并答复" in alert.explanation  # local time to the minute, not ISO
    reply_order(session, order.id, "已办结", head, later)
    assert scan_deadlines(session, later).resolved == 1


def test_a_replied_order_gets_no_red_card(session: Session, pv: ProcessVersion, now: datetime) -> None:
    supervisor = create_user(session, now, roles=[("supervisor", "supervision")])
    head = create_user(session, now, roles=[("dept_head", "market")])
    case = data.case(session, pv, now)
    order = issue_order(session, case.id, "market", "请核查", now + timedelta(hours=2), supervisor, now)
    reply_order(session, order.id, "已核查", head, now + timedelta(hours=1))
    assert scan_deadlines(session, now + timedelta(days=1)).raised == 0


def test_acknowledge(session: Session, pv: ProcessVersion, now: datetime) -> None:
    _step(session, pv, now, 10, 5)
    scan_deadlines(session, now)
    alert = session.scalars(select(Alert)).one()
    supervisor: User = create_user(session, now, roles=[("supervisor", "supervision")])
    clerk = create_user(session, now, roles=[("clerk", "approval")])
    with pytest.raises(PermissionDenied):
        acknowledge_alert(session, alert.id, clerk, now)
    acknowledge_alert(session, alert.id, supervisor, now)
    acknowledge_alert(session, alert.id, supervisor, now + timedelta(hours=1))  # a no-op
    assert alert.acknowledged_by_id == supervisor.id and alert.acknowledged_at == now


def test_a_backlog_is_raised_most_urgent_first_within_the_budget(
    session: Session, pv: ProcessVersion, now: datetime
) -> None:
    late = [_step(session, pv, now, used, 5, name=f"超期{used}") for used in (7, 12, 9)]
    soon = _step(session, pv, now, 4, 5, name="将到期")
    first = scan_deadlines(session, now, budget=2)
    raised = session.scalars(select(Alert).order_by(Alert.id)).all()
    assert (first.raised, first.deferred) == (2, True)
    assert [a.human_task_id for a in raised] == [late[1].id, late[2].id]  # the most overdue first
    second = scan_deadlines(session, now + timedelta(minutes=5), budget=2)
    assert (second.raised, second.deferred) == (2, False)
    assert [a.human_task_id for a in session.scalars(select(Alert).order_by(Alert.id))][2:] == [
        late[0].id,
        soon.id,
    ]
    assert scan_deadlines(session, now + timedelta(minutes=10), budget=2).raised == 0
