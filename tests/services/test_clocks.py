"""Case clocks: due dates from the item, 补正 and §45 pauses, extensions (fixed clock Mon 2026-11-23 09:30).

The weeks after 2026-11-23 have no holiday: N working days are N weekdays (+5 Mon 11-30, +20 Mon 12-21).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from app.models import Case, ServiceItem, User
from app.services.clocks import (
    approve_extension,
    case_clock,
    compute_case_clocks,
    end_pause,
    request_extension,
    start_pause,
)
from app.services.errors import Conflict, InvalidInput, PermissionDenied
from app.services.runtime import invalidate_calendar, working_calendar
from tests.factories import create_user
from tests.services import supervision_data as data

SPECIAL = [
    {"name": "专家评审", "counts": False, "max_days": 20},
    {"name": "批前公示", "counts": False, "max_days": 7},
    {"name": "现场核查", "counts": True, "max_days": 3},
]


@pytest.fixture(autouse=True)
def _fresh_calendar() -> Iterator[None]:
    invalidate_calendar()
    yield
    invalidate_calendar()


def _local(moment: datetime | None) -> date | None:
    return working_calendar().local_date(moment) if moment else None


def _at(day: int, hour: int = 9, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=working_calendar().tz)


@pytest.fixture
def people(session: Session, now: datetime) -> dict[str, User]:
    return {
        "approver": create_user(session, now, roles=[("approver", "market")]),
        "head": create_user(session, now, roles=[("dept_head", "market")]),
        "other_head": create_user(session, now, roles=[("dept_head", "tax")]),
        "leader": create_user(session, now, roles=[("leader", "gxq")]),
        "applicant": create_user(session, now, roles=[("applicant", None)]),
    }


@pytest.fixture
def item(session: Session) -> ServiceItem:
    return data.item(session, promised=5, statutory=20, special_steps=SPECIAL)


@pytest.fixture
def case(session: Session, now: datetime, item: ServiceItem) -> Case:
    row = data.case(session, data.version(session, now), now, service_item=item)
    compute_case_clocks(session, row, now)
    return row


def test_due_dates_come_from_the_item_and_end_the_last_working_day(case: Case) -> None:
    assert _local(case.promised_due_at) == date(2026, 11, 30)
    assert _local(case.statutory_due_at) == date(2026, 12, 21)
    local = case.promised_due_at.astimezone(working_calendar().tz)  # type: ignore[union-attr]
    assert (local.hour, local.minute, local.second) == (23, 59, 59)


def test_used_and_remaining_working_days(session: Session, case: Case) -> None:
    clock = case_clock(session, case, _at(26, 15))
    assert (clock.used_working_days, clock.limit, clock.remaining, clock.paused) == (3, 5, 2, False)
    assert clock.statutory_limit == 20 and clock.pauses == [] and clock.extensions == []


def test_a_supplement_task_stops_the_clock_and_moves_the_due_date(
    session: Session, case: Case, now: datetime
) -> None:
    wait = data.task(session, case, _at(24), None, name="补正材料", properties={"pausesClock": "补正"})
    assert case_clock(session, case, _at(25, 15)).paused is True
    wait.state, wait.completed_at = "completed", _at(26, 17)
    session.flush()
    clock = case_clock(session, case, _at(27, 12))
    assert clock.paused is False and clock.used_working_days == 3  # 11-25 was wholly paused
    assert [p.reason for p in clock.pauses] == ["补正"]
    compute_case_clocks(session, case, _at(27, 12))
    assert _local(case.promised_due_at) == date(2026, 12, 1)  # one working day later


def test_a_special_step_pause_moves_both_due_dates(
    session: Session, case: Case, people: dict[str, User]
) -> None:
    pause = start_pause(session, case, "专家评审", "组织专家论证", people["approver"], _at(24, 10))
    assert case_clock(session, case, _at(27)).paused is True
    with pytest.raises(Conflict):
        start_pause(session, case, "公示", "", people["approver"], _at(25))
    end_pause(session, pause.id, people["approver"], _at(2, 10, month=12))
    assert _local(case.promised_due_at) == date(2026, 12, 7)  # 11-25 … 12-01: five working days paused
    assert _local(case.statutory_due_at) == date(2026, 12, 28)
    with pytest.raises(Conflict):
        end_pause(session, pause.id, people["approver"], _at(3, month=12))


@pytest.mark.parametrize(
    ("reason", "role"),
    [
        ("午休", "approver"),  # not a §45 reason
        ("现场核查", "approver"),  # listed, but it counts towards the limit
        ("听证", "approver"),  # a §45 reason the item does not list
        ("专家评审", "applicant"),  # not staff
    ],
)
def test_pauses_that_are_refused(
    session: Session, case: Case, people: dict[str, User], reason: str, role: str
) -> None:
    expected = PermissionDenied if role == "applicant" else InvalidInput
    with pytest.raises(expected):
        start_pause(session, case, reason, "", people[role], _at(24))


def test_an_approved_extension_moves_the_due_dates(
    session: Session, case: Case, people: dict[str, User], now: datetime
) -> None:
    extension = request_extension(session, case, 3, "需补充征求消防部门意见", people["approver"], now)
    assert _local(case.promised_due_at) == date(2026, 11, 30)  # not before approval
    approve_extension(session, extension.id, people["head"], now + timedelta(hours=1))
    assert _local(case.promised_due_at) == date(2026, 12, 3)
    assert _local(case.statutory_due_at) == date(2026, 12, 24)
    clock = case_clock(session, case, now)
    assert clock.limit == 8 and clock.extensions[0].reason == "需补充征求消防部门意见"
    with pytest.raises(Conflict):
        approve_extension(session, extension.id, people["leader"], now)


@pytest.mark.parametrize(
    ("days", "reason", "field"),
    [(0, "理由", "working_days"), (11, "理由", "working_days"), (2, " ", "reason")],
)
def test_invalid_extension_requests(
    session: Session, case: Case, people: dict[str, User], now: datetime, days: int, reason: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as error:
        request_extension(session, case, days, reason, people["approver"], now)
    assert field in (error.value.details or {})


@pytest.mark.parametrize("approver", ["approver", "other_head", "requester"])
def test_who_may_not_approve_an_extension(
    session: Session, case: Case, people: dict[str, User], now: datetime, approver: str
) -> None:
    requester = people["head"]
    extension = request_extension(session, case, 2, "理由", requester, now)
    actor = requester if approver == "requester" else people[approver]
    with pytest.raises(PermissionDenied):
        approve_extension(session, extension.id, actor, now)


def test_a_leader_may_approve_and_parallel_items_allow_fifteen_days(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    joint = data.item(session, promised=15, statutory=45, mode="parallel")
    row = data.case(session, data.version(session, now), now, service_item=joint)
    compute_case_clocks(session, row, now)
    extension = request_extension(session, row, 15, "联合审查延期", people["approver"], now)
    approve_extension(session, extension.id, people["leader"], now)
    assert case_clock(session, row, now).statutory_limit == 60
