"""What the calendar says about single dates: official 2026 data, provisional years, overrides."""

from __future__ import annotations

from datetime import date, datetime

import chinese_calendar
import pytest

from app.calendar import (
    DayInfo,
    DaySource,
    WorkingCalendar,
    is_official_year,
    official_years,
    statutory_holidays,
)

CAL = WorkingCalendar()


@pytest.mark.parametrize(
    ("day", "is_working", "holiday_name", "source"),
    [
        # 2026 arrangement from the chinesecalendar data (国务院办公厅 notice for 2026).
        (date(2026, 1, 1), False, "元旦", "official"),
        (date(2026, 1, 3), False, "元旦", "official"),  # a Saturday inside the holiday
        (date(2026, 1, 4), True, "元旦", "official"),  # Sunday 调休 workday
        (date(2026, 2, 14), True, "春节", "official"),  # Saturday 调休 workday
        (date(2026, 2, 15), False, "春节", "official"),
        (date(2026, 2, 23), False, "春节", "official"),  # Monday, last day of the 9-day break
        (date(2026, 2, 24), True, None, "weekday"),
        (date(2026, 2, 28), True, "春节", "official"),  # Saturday 调休 workday
        (date(2026, 4, 6), False, "清明节", "official"),
        (date(2026, 5, 5), False, "劳动节", "official"),
        (date(2026, 5, 9), True, "劳动节", "official"),  # Saturday 调休 workday
        (date(2026, 6, 19), False, "端午节", "official"),
        (date(2026, 9, 20), True, "国庆节", "official"),  # Sunday 调休 workday
        (date(2026, 9, 25), False, "中秋节", "official"),
        (date(2026, 10, 1), False, "国庆节", "official"),
        (date(2026, 10, 7), False, "国庆节", "official"),
        (date(2026, 10, 8), True, None, "weekday"),
        (date(2026, 10, 10), True, "国庆节", "official"),  # Saturday 调休 workday
        (date(2026, 10, 11), False, None, "weekend"),
        (date(2026, 3, 3), True, None, "weekday"),
        (date(2026, 3, 7), False, None, "weekend"),
    ],
)
def test_official_2026(day: date, is_working: bool, holiday_name: str | None, source: DaySource) -> None:
    info = CAL.day(day)
    assert info == DayInfo(day, is_working, False, holiday_name, source)
    assert CAL.is_working_day(day) is is_working
    assert CAL.is_provisional(day) is False


def test_national_day_2026_week() -> None:
    week = [date(2026, 10, d) for d in range(1, 11)]
    assert [CAL.is_working_day(d) for d in week] == [False] * 7 + [True, True, True]


@pytest.mark.parametrize(
    ("day", "is_working", "holiday_name", "source"),
    [
        (date(2027, 1, 1), False, "元旦", "provisional"),
        (date(2027, 2, 4), True, None, "weekday"),
        (date(2027, 2, 5), False, "春节", "provisional"),  # 除夕 (Friday)
        (date(2027, 2, 6), False, "春节", "provisional"),  # 正月初一
        (date(2027, 2, 8), False, "春节", "provisional"),  # 正月初三 (Monday)
        (date(2027, 2, 9), True, None, "weekday"),
        (date(2027, 4, 5), False, "清明节", "provisional"),  # 清明 solar term 2027
        (date(2027, 5, 3), True, None, "weekday"),  # only May 1-2 by statute; no 调休 guessed
        (date(2027, 6, 9), False, "端午节", "provisional"),  # lunar 5/5
        (date(2027, 9, 15), False, "中秋节", "provisional"),  # lunar 8/15
        (date(2027, 10, 4), True, None, "weekday"),
        (date(2027, 10, 9), False, None, "weekend"),
        (date(2003, 10, 1), False, "国庆节", "provisional"),  # before the package's data, same rules
    ],
)
def test_provisional_days(day: date, is_working: bool, holiday_name: str | None, source: DaySource) -> None:
    assert CAL.day(day) == DayInfo(day, is_working, True, holiday_name, source)
    assert CAL.is_provisional(day) is True


def test_provisional_2027_spring_festival_is_computed() -> None:
    holidays = statutory_holidays(2027)
    spring = sorted(d for d, name in holidays.items() if name == "春节")
    assert spring == [date(2027, 2, 5), date(2027, 2, 6), date(2027, 2, 7), date(2027, 2, 8)]
    assert len(holidays) == 13


@pytest.mark.parametrize("year", [2025, 2026])
def test_provisional_rules_agree_with_official_data(year: int) -> None:
    # The 2024 rules computed for years that do have official data must fall on official holidays.
    names = {"New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节"}
    names |= {"Labour Day": "劳动节", "Dragon Boat Festival": "端午节", "Mid-autumn Festival": "中秋节"}
    names |= {"National Day": "国庆节"}
    computed = statutory_holidays(year)
    assert len(computed) == 13
    for day, name in computed.items():
        assert names[chinese_calendar.holidays[day]] == name, day


def test_mid_autumn_on_national_day_gets_both_names() -> None:
    # 2001: 中秋 (lunar 8/15) fell on 2001-10-01.
    assert statutory_holidays(2001)[date(2001, 10, 1)] == "国庆节、中秋节"
    assert len(statutory_holidays(2001)) == 12


def test_never_raises_between_1900_and_2099() -> None:
    for year in range(1900, 2100):
        infos = CAL.year_days(year)
        assert len(infos) == (date(year + 1, 1, 1) - date(year, 1, 1)).days
        if not is_official_year(year):
            assert all(info.provisional for info in infos)
            assert sum(1 for info in infos if info.holiday_name == "春节") == 4, year


def test_official_years_cover_2004_to_2026() -> None:
    assert official_years().start == 2004
    assert 2026 in official_years()
    assert is_official_year(2027) is False


@pytest.mark.parametrize(
    ("year", "length", "days_off"),
    [
        # 2026 starts on a Thursday: 52 weeks + 1 day -> 104 weekend days. Official holidays: 33 days,
        # 14 of them on weekends -> 19 weekday holidays; 6 weekend 调休 workdays. Off = 104 + 19 - 6 = 117.
        (2026, 365, 117),
        (2028, 366, None),
    ],
)
def test_year_days(year: int, length: int, days_off: int | None) -> None:
    days = CAL.year_days(year)
    assert len(days) == length
    assert days[0].date == date(year, 1, 1)
    assert days[-1].date == date(year, 12, 31)
    if days_off is not None:
        assert sum(1 for d in days if not d.is_working) == days_off


def test_overrides_win() -> None:
    local_holiday = date(2026, 3, 18)  # a Wednesday
    emergency_saturday = date(2026, 3, 21)
    cancelled_holiday = date(2026, 10, 7)
    cal = WorkingCalendar(
        {local_holiday: False, emergency_saturday: True, cancelled_holiday: True},
        override_names={local_holiday: "县庆"},
    )
    assert cal.day(local_holiday) == DayInfo(local_holiday, False, False, "县庆", "override")
    assert cal.day(emergency_saturday) == DayInfo(emergency_saturday, True, False, None, "override")
    assert cal.day(cancelled_holiday) == DayInfo(cancelled_holiday, True, False, "国庆节", "override")
    assert CAL.is_working_day(local_holiday) is True  # other calendars are unaffected


def test_override_in_provisional_year_stays_provisional() -> None:
    cal = WorkingCalendar({date(2027, 2, 9): False})
    info = cal.day(date(2027, 2, 9))
    assert (info.is_working, info.provisional, info.source) == (False, True, "override")


@pytest.mark.parametrize(
    ("day", "label"),
    [
        (date(2026, 10, 1), "国庆节 休"),
        (date(2026, 10, 10), "调休上班（国庆节）"),
        (date(2026, 10, 8), "工作日"),
        (date(2026, 10, 11), "周末"),
        (date(2027, 2, 6), "春节 休（暂定）"),
    ],
)
def test_labels(day: date, label: str) -> None:
    assert CAL.day(day).label == label


def test_datetime_is_not_a_date() -> None:
    with pytest.raises(TypeError):
        CAL.day(datetime(2026, 10, 1, 12, 0))
