"""The official State Council arrangement, as published in the `chinesecalendar` package."""

from __future__ import annotations

from datetime import date

import chinese_calendar

# chinese_calendar names holidays in English; govflow shows Chinese.
HOLIDAY_NAMES_ZH: dict[str, str] = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}

_OFFICIAL_FIRST_YEAR: int = min(chinese_calendar.holidays).year
_OFFICIAL_LAST_YEAR: int = max(max(chinese_calendar.holidays).year, max(chinese_calendar.workdays).year)


def official_years() -> range:
    """Years for which the package carries the published arrangement (e.g. 2004–2026)."""
    return range(_OFFICIAL_FIRST_YEAR, _OFFICIAL_LAST_YEAR + 1)


def is_official_year(year: int) -> bool:
    """Whether the published arrangement covers this year."""
    return _OFFICIAL_FIRST_YEAR <= year <= _OFFICIAL_LAST_YEAR


def official_entry(d: date) -> tuple[bool, str] | None:
    """(is_working, Chinese holiday name) if `d` is a listed holiday or adjusted workday (调休), else None."""
    workday_name: object = chinese_calendar.workdays.get(d)
    if workday_name is not None:
        return True, _zh(workday_name)
    holiday_name: object = chinese_calendar.holidays.get(d)
    if holiday_name is not None:
        return False, _zh(holiday_name)
    return None


def _zh(name: object) -> str:
    text = str(getattr(name, "value", name))
    return HOLIDAY_NAMES_ZH.get(text, text)
