"""Calendar overrides: validation, listing, and load_calendar / working_calendar honouring them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pytest
from sqlalchemy.orm import Session

from app.models import User
from app.services.calendar_overrides import add_override, list_overrides, remove_override
from app.services.errors import InvalidInput, NotFound, PermissionDenied
from app.services.runtime import invalidate_calendar, load_calendar, working_calendar
from tests.factories import create_user


@pytest.fixture(autouse=True)
def _fresh_calendar() -> Iterator[None]:
    invalidate_calendar()
    yield
    invalidate_calendar()  # the test's overrides are rolled back: do not leak them to other tests


@pytest.fixture
def admin(session: Session, now: datetime) -> User:
    return create_user(session, now, roles=[("admin", None)])


def test_an_override_changes_the_loaded_calendar(session: Session, admin: User, now: datetime) -> None:
    saturday = date(2026, 12, 5)
    assert not load_calendar(session).is_working_day(saturday)
    add_override(session, saturday, True, "防汛应急上班", admin, now)
    calendar = load_calendar(session)
    assert calendar.is_working_day(saturday)
    assert (
        calendar.day(saturday).source == "override" and calendar.day(saturday).holiday_name == "防汛应急上班"
    )
    assert working_calendar() is calendar  # code without a session sees the last loaded calendar
    assert load_calendar(session) is calendar  # unchanged overrides: the cached calendar is reused


def test_removal_invalidates_and_restores_the_official_day(
    session: Session, admin: User, now: datetime
) -> None:
    monday = date(2026, 12, 7)
    override = add_override(session, monday, False, "县庆放假", admin, now)
    assert not load_calendar(session).is_working_day(monday)
    remove_override(session, override.id, admin, now)
    assert working_calendar().is_working_day(monday)  # invalidated: back to official data
    assert load_calendar(session).is_working_day(monday)
    with pytest.raises(NotFound):
        remove_override(session, override.id, admin, now)


@pytest.mark.parametrize(
    ("day", "name", "fields"),
    [
        ("2026-02-30", "名称", {"day"}),
        ("not a date", "名称", {"day"}),
        (date(1999, 12, 31), "名称", {"day"}),
        (date(2100, 1, 1), "名称", {"day"}),
        (date(2026, 6, 1), "  ", {"name"}),
        (date(2026, 6, 1), "长" * 121, {"name"}),
        ("", "", {"day", "name"}),
    ],
)
def test_invalid_input_names_the_fields(
    session: Session, admin: User, now: datetime, day: object, name: str, fields: set[str]
) -> None:
    with pytest.raises(InvalidInput) as error:
        add_override(session, day, True, name, admin, now)  # type: ignore[arg-type]
    assert set(error.value.details or {}) == fields


def test_a_duplicate_day_is_refused(session: Session, admin: User, now: datetime) -> None:
    add_override(session, "2026-06-01", False, "本地节日", admin, now)
    with pytest.raises(InvalidInput) as error:
        add_override(session, date(2026, 6, 1), True, "应急上班", admin, now)
    assert "day" in (error.value.details or {})


def test_list_by_year_and_admins_only(session: Session, admin: User, now: datetime) -> None:
    add_override(session, date(2026, 6, 1), False, "甲", admin, now)
    add_override(session, date(2027, 6, 1), False, "乙", admin, now)
    assert [o.name for o in list_overrides(session, 2026)] == ["甲"]
    assert [o.name for o in list_overrides(session)] == ["甲", "乙"]
    clerk = create_user(session, now, roles=[("clerk", "approval")])
    with pytest.raises(PermissionDenied):
        add_override(session, date(2026, 6, 2), False, "丙", clerk, now)


def test_provisional_year_with_override_does_not_crash(session: Session, admin: User, now: datetime) -> None:
    add_override(session, date(2099, 3, 2), False, "远期调整", admin, now)
    calendar = load_calendar(session)
    assert calendar.day(date(2099, 3, 2)).provisional and not calendar.is_working_day(date(2099, 3, 2))
