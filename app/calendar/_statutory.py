"""Provisional statutory holidays for years the official data does not cover.

《全国年节及纪念日放假办法》 as amended in 2024 (effective 2025): 元旦 1 day, 春节 4 days (除夕 to 正月初三),
清明 1 day (the solar-term day), 劳动节 2 days, 端午 1 day, 中秋 1 day, 国庆 3 days. Lunar and solar-term
dates are computed by `lunar_python`; no 调休 is guessed.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from lunar_python import Lunar

NEW_YEAR = "元旦"
SPRING_FESTIVAL = "春节"
TOMB_SWEEPING = "清明节"
LABOUR_DAY = "劳动节"
DRAGON_BOAT = "端午节"
MID_AUTUMN = "中秋节"
NATIONAL_DAY = "国庆节"


def _lunar_to_solar(year: int, month: int, day: int) -> date:
    solar = Lunar.fromYmd(year, month, day).getSolar()
    return date(int(solar.getYear()), int(solar.getMonth()), int(solar.getDay()))


def _qingming(year: int) -> date:
    # The jieqi table of lunar year `year` spans its Gregorian year; 清明 falls on Apr 4–6.
    solar = Lunar.fromYmd(year, 1, 1).getJieQiTable()["清明"]
    return date(int(solar.getYear()), int(solar.getMonth()), int(solar.getDay()))


@lru_cache(maxsize=256)
def _statutory_holidays(year: int) -> tuple[tuple[date, str], ...]:
    spring = _lunar_to_solar(year, 1, 1)
    pairs = [
        (date(year, 1, 1), NEW_YEAR),
        *((spring + timedelta(days=offset), SPRING_FESTIVAL) for offset in range(-1, 3)),  # 除夕 .. 初三
        (_qingming(year), TOMB_SWEEPING),
        (date(year, 5, 1), LABOUR_DAY),
        (date(year, 5, 2), LABOUR_DAY),
        (_lunar_to_solar(year, 5, 5), DRAGON_BOAT),
        *((date(year, 10, day), NATIONAL_DAY) for day in (1, 2, 3)),
        (_lunar_to_solar(year, 8, 15), MID_AUTUMN),  # may coincide with 国庆 (e.g. 2020-10-01)
    ]
    days: dict[date, str] = {}
    for day, name in pairs:
        days[day] = f"{days[day]}、{name}" if day in days else name
    return tuple(sorted(days.items()))


def statutory_holidays(year: int) -> dict[date, str]:
    """The statutory days off of `year` under the 2024 rules, computed (date -> Chinese holiday name)."""
    return dict(_statutory_holidays(year))


@lru_cache(maxsize=256)
def _holiday_lookup(year: int) -> dict[date, str]:
    return dict(_statutory_holidays(year))


def statutory_holiday_name(d: date) -> str | None:
    """The statutory holiday `d` belongs to under the 2024 rules, or None."""
    return _holiday_lookup(d.year).get(d)
