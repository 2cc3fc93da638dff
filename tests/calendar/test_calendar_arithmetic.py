"""Working-day arithmetic: adding days, counting, due instants, elapsed time with pauses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.calendar import MAX_WORKING_DAYS, WorkingCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAL = WorkingCalendar()


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # 2026-09-28 (Mon) + 5: 09-29 (1), 09-30 (2), 10-01..10-07 off (国庆+中秋 arrangement),
        # 10-08 Thu (3), 10-09 Fri (4), 10-10 Sat 调休 workday (5).
        (date(2026, 9, 28), 5, date(2026, 10, 10)),
        (date(2026, 9, 28), 6, date(2026, 10, 12)),  # 10-11 Sunday off, 10-12 Monday
        # 2026-12-30 (Wed) + 3 crosses into provisional 2027: 12-31 (1), 2027-01-01 元旦 off,
        # 01-02/03 weekend, 01-04 Mon (2), 01-05 Tue (3).
        (date(2026, 12, 30), 3, date(2027, 1, 5)),
        # 2027-02-04 (Thu) + 1: 02-05..02-08 春节 (provisional), 02-06/07 also weekend -> 02-09 Tue.
        (date(2027, 2, 4), 1, date(2027, 2, 9)),
        # 2026-02-13 (Fri) + 1: 02-14 Saturday is a 调休 workday.
        (date(2026, 2, 13), 1, date(2026, 2, 14)),
        # 2026-02-14 + 2: 02-15..02-23 off, 02-24 Tue (1), 02-25 Wed (2).
        (date(2026, 2, 14), 2, date(2026, 2, 25)),
        (date(2026, 10, 1), 0, date(2026, 10, 1)),  # n == 0 returns the date itself, even a holiday
        (date(2026, 3, 2), 0, date(2026, 3, 2)),
        # 2026-03-02 (Mon) + 20 plain weeks: 4 full weeks -> 2026-03-30 (Mon).
        (date(2026, 3, 2), 20, date(2026, 3, 30)),
    ],
)
def test_add_working_days(start: date, n: int, expected: date) -> None:
    assert CAL.add_working_days(start, n) == expected


def test_add_working_days_starting_on_a_day_off() -> None:
    # Sunday 2026-03-08 + 1 -> Monday 2026-03-09; the start day is never counted.
    assert CAL.add_working_days(date(2026, 3, 8), 1) == date(2026, 3, 9)


@pytest.mark.parametrize("n", [-1, -20, MAX_WORKING_DAYS + 1])
def test_add_working_days_rejects_bad_counts(n: int) -> None:
    with pytest.raises(ValueError, match="number of working days"):
        CAL.add_working_days(date(2026, 3, 2), n)


def test_add_working_days_45_is_consistent_with_counting() -> None:
    start = date(2026, 8, 20)
    due = CAL.add_working_days(start, 45)
    assert CAL.working_days_between(start, due) == 45
    assert CAL.is_working_day(due)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (date(2026, 9, 28), date(2026, 10, 10), 5),
        (date(2026, 10, 10), date(2026, 9, 28), -5),
        (date(2026, 10, 1), date(2026, 10, 7), 0),
        (date(2026, 3, 2), date(2026, 3, 2), 0),
        (date(2026, 3, 6), date(2026, 3, 9), 1),  # Fri -> Mon: only Monday counts
        (date(2026, 12, 30), date(2027, 1, 5), 3),
    ],
)
def test_working_days_between(a: date, b: date, expected: int) -> None:
    assert CAL.working_days_between(a, b) == expected


def test_overrides_change_arithmetic() -> None:
    # A local day off on Tue 2026-09-29 and an emergency working Sunday 2026-10-04.
    cal = WorkingCalendar({date(2026, 9, 29): False, date(2026, 10, 4): True})
    # 09-30 (1), 10-04 (2), 10-08 (3), 10-09 (4), 10-10 (5)
    assert cal.add_working_days(date(2026, 9, 28), 5) == date(2026, 10, 10)
    assert cal.add_working_days(date(2026, 9, 28), 2) == date(2026, 10, 4)
    assert CAL.add_working_days(date(2026, 9, 28), 2) == date(2026, 9, 30)


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # 23:30 local on 09-30: local date 09-30.
        (local(2026, 9, 30, 23, 30), 0, local(2026, 9, 30, 23, 59) + timedelta(seconds=59)),
        # The same instant expressed in UTC gives the same answer.
        (datetime(2026, 9, 30, 15, 30, tzinfo=UTC), 0, local(2026, 9, 30, 23, 59) + timedelta(seconds=59)),
        # 23:30 UTC is already 10-01 07:30 in Shanghai.
        (datetime(2026, 9, 30, 23, 30, tzinfo=UTC), 0, local(2026, 10, 1, 23, 59) + timedelta(seconds=59)),
        (local(2026, 9, 30, 23, 30), 1, local(2026, 10, 8, 23, 59) + timedelta(seconds=59)),
        # 2026-09-29 20:00 UTC = 09-30 04:00 local: 3rd working day after 09-30 is 10-10 (Sat 调休).
        (datetime(2026, 9, 29, 20, 0, tzinfo=UTC), 3, local(2026, 10, 10, 23, 59) + timedelta(seconds=59)),
        # 2026-09-29 15:00 UTC = 09-29 23:00 local: 3rd working day after 09-29 is 10-09.
        (datetime(2026, 9, 29, 15, 0, tzinfo=UTC), 3, local(2026, 10, 9, 23, 59) + timedelta(seconds=59)),
    ],
)
def test_due_at(start: datetime, n: int, expected: datetime) -> None:
    due = CAL.due_at(start, n)
    assert due == expected
    assert due.utcoffset() == timedelta(hours=8)


def test_due_at_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.due_at(datetime(2026, 9, 30, 12, 0), 1)


def test_due_at_other_time_zone() -> None:
    cal = WorkingCalendar(tz=ZoneInfo("Asia/Urumqi"))  # UTC+6
    due = cal.due_at(datetime(2026, 9, 30, 17, 0, tzinfo=UTC), 0)  # 23:00 in Urumqi
    assert due == datetime(2026, 9, 30, 23, 59, 59, tzinfo=ZoneInfo("Asia/Urumqi"))


@pytest.mark.parametrize(
    ("start", "end", "pauses", "expected"),
    [
        # No pauses: working days in (09-28, 10-10] = 5.
        (local(2026, 9, 28, 9), local(2026, 10, 10, 9), (), 5),
        (local(2026, 9, 28, 9), local(2026, 9, 28, 17), (), 0),  # same day
        (local(2026, 9, 28, 9), local(2026, 9, 27, 9), (), 0),  # end before start
        # Paused from 09-29 00:00 to 10-09 00:00: 09-29, 09-30, 10-08 fully paused -> 10-09, 10-10 count.
        (local(2026, 9, 28, 9), local(2026, 10, 10, 9), ((local(2026, 9, 29), local(2026, 10, 9)),), 2),
        # A pause from 09-29 10:00 does not cover 09-29 fully: 09-29 still counts -> 3.
        (local(2026, 9, 28, 9), local(2026, 10, 10, 9), ((local(2026, 9, 29, 10), local(2026, 10, 9)),), 3),
        # Two touching pauses merge into one that covers 09-30 fully.
        (
            local(2026, 9, 28, 9),
            local(2026, 9, 30, 18),
            ((local(2026, 9, 30), local(2026, 9, 30, 12)), (local(2026, 9, 30, 12), local(2026, 10, 1))),
            1,
        ),
        # Open pause (still running) since 09-30 00:00: 09-30 is not used, 09-29 is.
        (local(2026, 9, 28, 9), local(2026, 9, 30, 15), ((local(2026, 9, 30), None),), 1),
        # Pause given in UTC: 2026-09-28 16:00 UTC = 09-29 00:00 local, to 09-29 16:00 UTC = 09-30 00:00.
        (
            local(2026, 9, 28, 9),
            local(2026, 9, 30, 15),
            ((datetime(2026, 9, 28, 16, tzinfo=UTC), datetime(2026, 9, 29, 16, tzinfo=UTC)),),
            1,
        ),
    ],
)
def test_elapsed_working_days(
    start: datetime, end: datetime, pauses: tuple[tuple[datetime, datetime | None], ...], expected: int
) -> None:
    assert CAL.elapsed_working_days(start, end, pauses) == expected


def test_elapsed_equals_limit_at_due_instant() -> None:
    start = local(2026, 9, 28, 10)
    due = CAL.due_at(start, 5)
    assert CAL.elapsed_working_days(start, due) == 5
    assert CAL.elapsed_working_days(start, due + timedelta(seconds=1)) == 5  # 10-11 is a Sunday
    assert CAL.elapsed_working_days(start, CAL.due_at(start, 6)) == 6


def test_elapsed_rejects_naive_pause() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.elapsed_working_days(local(2026, 9, 28), local(2026, 9, 30), ((datetime(2026, 9, 29), None),))
