"""The working-day calendar: official arrangement, provisional fallback and administrator overrides."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from app.calendar._official import is_official_year, official_entry
from app.calendar._statutory import statutory_holiday_name

DaySource = Literal["official", "override", "provisional", "weekday", "weekend"]
Pause = tuple[datetime, datetime | None]

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")
# Guard against absurd limits (e.g. a typo in a BPMN property) turning into a near-endless loop.
MAX_WORKING_DAYS = 10_000
_END_OF_DAY = time(23, 59, 59)

_SOURCE_LABELS: dict[DaySource, str] = {
    "official": "国务院放假安排",
    "override": "本地调整",
    "provisional": "法定节假日（暂定）",
    "weekday": "工作日",
    "weekend": "周末",
}


@dataclass(frozen=True)
class DayInfo:
    """What the calendar says about one date.

    `holiday_name` names the holiday a day belongs to; on an adjusted workday (调休) it names the holiday the
    workday compensates for. `provisional` is True for every date in a year the official data does not cover.
    """

    date: date
    is_working: bool
    provisional: bool
    holiday_name: str | None
    source: DaySource

    @property
    def is_adjusted_workday(self) -> bool:
        """A weekend day that is a working day (调休上班 or an override)."""
        return self.is_working and self.date.weekday() >= 5

    @property
    def label(self) -> str:
        """Short Chinese description for the admin page, e.g. "国庆节 休" or "调休上班（国庆节）"."""
        if self.is_adjusted_workday:
            text = f"调休上班（{self.holiday_name}）" if self.holiday_name else "周末上班"
        elif self.is_working:
            text = "工作日"
        elif self.holiday_name:
            text = f"{self.holiday_name} 休"
        else:
            text = "周末" if self.date.weekday() >= 5 else "休息日"
        return f"{text}（暂定）" if self.provisional else text

    @property
    def source_label(self) -> str:
        """Chinese name of where the answer comes from."""
        return _SOURCE_LABELS[self.source]


@lru_cache(maxsize=32_768)
def base_day(d: date) -> DayInfo:
    """The calendar answer for `d` without administrator overrides (cached per date)."""
    weekend = d.weekday() >= 5
    if is_official_year(d.year):
        entry = official_entry(d)
        if entry is not None:
            return DayInfo(d, entry[0], False, entry[1], "official")
        return DayInfo(d, not weekend, False, None, "weekend" if weekend else "weekday")
    name = statutory_holiday_name(d)
    if name is not None:
        return DayInfo(d, False, True, name, "provisional")
    return DayInfo(d, not weekend, True, None, "weekend" if weekend else "weekday")


def _require_date(d: date) -> date:
    if isinstance(d, datetime):
        raise TypeError("expected a date, got a datetime; convert with WorkingCalendar.local_date() first")
    return d


def _require_aware(dt: datetime, what: str) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime")
    return dt


def _check_count(n: int) -> int:
    if n < 0:
        raise ValueError(f"the number of working days must be >= 0, got {n}")
    if n > MAX_WORKING_DAYS:
        raise ValueError(f"the number of working days must be <= {MAX_WORKING_DAYS}, got {n}")
    return n


class WorkingCalendar:
    """Working days in China: official data, provisional statutory holidays beyond it, and local overrides."""

    def __init__(
        self,
        overrides: Mapping[date, bool] | None = None,
        tz: ZoneInfo = DEFAULT_TZ,
        *,
        override_names: Mapping[date, str] | None = None,
    ) -> None:
        self.tz = tz
        self._overrides: dict[date, bool] = {_require_date(d): bool(v) for d, v in (overrides or {}).items()}
        self._override_names: dict[date, str] = dict(override_names or {})

    def day(self, d: date) -> DayInfo:
        """Everything known about date `d` (overrides win over official and provisional data)."""
        base = base_day(_require_date(d))
        working = self._overrides.get(d)
        if working is None:
            return base
        name = self._override_names.get(d, base.holiday_name)
        return DayInfo(d, working, base.provisional, name, "override")

    def is_working_day(self, d: date) -> bool:
        """Whether `d` is a working day."""
        return self.day(d).is_working

    def is_provisional(self, d: date) -> bool:
        """Whether the answer for `d` is a guess: the official arrangement for its year is unpublished."""
        return base_day(_require_date(d)).provisional

    def local_date(self, dt: datetime) -> date:
        """The calendar date of an aware instant in this calendar's time zone."""
        return _require_aware(dt, "dt").astimezone(self.tz).date()

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day after `d` (`d` itself not counted); n == 0 returns `d` unchanged."""
        _check_count(n)
        current = _require_date(d)
        remaining = n
        while remaining > 0:
            current += timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def working_days_between(self, a: date, b: date) -> int:
        """Number of working days in (a, b]; negative (minus the count in (b, a]) when b < a."""
        _require_date(a)
        _require_date(b)
        if b < a:
            return -self.working_days_between(b, a)
        days = (a + timedelta(days=offset) for offset in range(1, (b - a).days + 1))
        return sum(1 for current in days if self.is_working_day(current))

    def due_at(self, start: datetime, n: int) -> datetime:
        """End (23:59:59 local) of the n-th working day after the local date of `start`; n == 0 is 即办."""
        target = self.add_working_days(self.local_date(_require_aware(start, "start")), n)
        return datetime.combine(target, _END_OF_DAY, tzinfo=self.tz)

    def elapsed_working_days(self, start: datetime, end: datetime, pauses: Sequence[Pause] = ()) -> int:
        """Working days used from `start` to `end`: working days in (start day, end day] not fully paused.

        A pause with no end is still running at `end`. A working day counts unless the part of it up to
        `end` lies entirely inside pauses. Returns 0 when `end` is not after `start`.
        """
        _require_aware(start, "start")
        _require_aware(end, "end")
        if end <= start:
            return 0
        intervals = _merge_pauses(pauses, start, end)
        first, last = self.local_date(start), self.local_date(end)
        used = 0
        for offset in range(1, (last - first).days + 1):
            current = first + timedelta(days=offset)
            if not self.is_working_day(current):
                continue
            begins = datetime.combine(current, time(0), tzinfo=self.tz)
            stops = min(datetime.combine(current + timedelta(days=1), time(0), tzinfo=self.tz), end)
            if not any(p_start <= begins and p_end >= stops for p_start, p_end in intervals):
                used += 1
        return used

    def year_days(self, year: int) -> list[DayInfo]:
        """Every date of `year` in order, with overrides applied."""
        first = date(year, 1, 1)
        count = (date(year + 1, 1, 1) - first).days if year < 9999 else 365
        return [self.day(first + timedelta(days=offset)) for offset in range(count)]


def _merge_pauses(pauses: Sequence[Pause], start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Pauses clipped to [start, end], open ones running to `end`, overlapping ones merged."""
    clipped: list[tuple[datetime, datetime]] = []
    for p_start, p_end in pauses:
        _require_aware(p_start, "pause start")
        stop = end if p_end is None else _require_aware(p_end, "pause end")
        lo, hi = max(p_start, start), min(stop, end)
        if lo < hi:
            clipped.append((lo, hi))
    clipped.sort()
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in clipped:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged
