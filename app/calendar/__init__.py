"""Chinese working-day calendar (pure): official holidays, 调休 workdays, provisional years and overrides."""

from app.calendar._official import HOLIDAY_NAMES_ZH, is_official_year, official_years
from app.calendar._statutory import statutory_holidays
from app.calendar.calendar import (
    DEFAULT_TZ,
    MAX_WORKING_DAYS,
    DayInfo,
    DaySource,
    Pause,
    WorkingCalendar,
    base_day,
)

__all__ = [
    "DEFAULT_TZ",
    "HOLIDAY_NAMES_ZH",
    "MAX_WORKING_DAYS",
    "DayInfo",
    "DaySource",
    "Pause",
    "WorkingCalendar",
    "base_day",
    "is_official_year",
    "official_years",
    "statutory_holidays",
]
