"""Working-day thresholds for the deadline scan, computed once per DISTINCT due date (few), not per row.

A step or case with limit L (working days) due on local date D has `r = working days in (today, D]` left
and has used `L - r`. It gets a `warning` when `r <= warning_days` or `(L - r) / L >= warning_ratio`, and
a `yellow` card once the due instant has passed. Since L = working days in (created date, D], the ratio
test becomes "created on or before D minus ceil(r / (1 - ratio)) working days": one created-at cutoff per
due date, which the SQL filter uses; the exact per-row test then runs on the few candidates in Python.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from app.calendar import WorkingCalendar

DEFAULT_WARNING_RATIO = 0.8
DEFAULT_WARNING_DAYS = 1
_MAX_LOOKBACK = 2000  # working days; a ratio close to 1 must not turn into an endless walk


@dataclass(frozen=True)
class Threshold:
    """When a limit earns a warning: share of the limit used, or working days left."""

    ratio: float = DEFAULT_WARNING_RATIO
    days: int = DEFAULT_WARNING_DAYS


def _ratio(value: Any) -> float | None:
    try:
        ratio = float(value)
    except (TypeError, ValueError):
        return None
    return ratio if 0 < ratio <= 1 else None


def _days(value: Any) -> int | None:
    try:
        days = int(str(value))
    except (TypeError, ValueError):
        return None
    return days if days >= 0 else None


def item_threshold(settings: Mapping[str, Any] | None) -> Threshold:
    """Per item (ServiceItem.settings: warning_ratio, warning_days), else the defaults."""
    settings = settings or {}
    ratio = _ratio(settings.get("warning_ratio"))
    days = _days(settings.get("warning_days"))
    return Threshold(
        DEFAULT_WARNING_RATIO if ratio is None else ratio, DEFAULT_WARNING_DAYS if days is None else days
    )


def step_threshold(base: Threshold, ratio: Any, days: Any) -> Threshold:
    """Per step (task properties warningRatio, warningDays) over the item's threshold."""
    step_ratio, step_days = _ratio(ratio), _days(days)
    return Threshold(
        base.ratio if step_ratio is None else step_ratio, base.days if step_days is None else step_days
    )


class DueDates:
    """Working-day facts about due dates at one `now`, memoised per distinct date."""

    def __init__(self, calendar: WorkingCalendar, now: datetime) -> None:
        self.calendar = calendar
        self.now = now
        self.today = calendar.local_date(now)
        self._remaining: dict[date, int] = {}
        self._limits: dict[tuple[date, date], int] = {}

    def local(self, instant: datetime) -> date:
        """Local date of an instant."""
        return self.calendar.local_date(instant)

    def remaining(self, due: date) -> int:
        """Working days in (today, due]; negative when overdue (minus the working days since)."""
        if due not in self._remaining:
            self._remaining[due] = self.calendar.working_days_between(self.today, due)
        return self._remaining[due]

    def limit(self, created: date, due: date) -> int:
        """Working days in (created, due]: the limit a step was given."""
        key = (created, due)
        if key not in self._limits:
            self._limits[key] = max(0, self.calendar.working_days_between(created, due))
        return self._limits[key]

    def created_cutoff(self, due: date, threshold: Threshold) -> datetime | None:
        """Rows due on `due` and created before this instant may reach the threshold; None = every row."""
        left = self.remaining(due)
        if left <= threshold.days:
            return None
        if threshold.ratio >= 1:
            return datetime.combine(date.min + timedelta(days=1), time(0), tzinfo=self.calendar.tz)
        needed = math.ceil(left / (1 - threshold.ratio) - 1e-9)
        if needed > _MAX_LOOKBACK:
            return datetime.combine(date.min + timedelta(days=1), time(0), tzinfo=self.calendar.tz)
        latest = self._back(due, needed)
        return datetime.combine(latest + timedelta(days=1), time(0), tzinfo=self.calendar.tz)

    def _back(self, due: date, n: int) -> date:
        """The latest date c with working days in (c, due] >= n."""
        current, count = due, 0
        while count < n:
            count += int(self.calendar.is_working_day(current))
            current -= timedelta(days=1)
        return current

    def warns(self, limit: int, due: date, threshold: Threshold) -> bool:
        """The exact warning test for one row."""
        left = self.remaining(due)
        if left <= threshold.days:
            return True
        return limit > 0 and (limit - left) / limit >= threshold.ratio - 1e-9


def merge_cutoff(cutoffs: dict[datetime, datetime | None], due: datetime, cutoff: datetime | None) -> None:
    """Keep the loosest created-at cutoff per due instant (None = no cutoff)."""
    if due not in cutoffs:
        cutoffs[due] = cutoff
        return
    previous = cutoffs[due]
    cutoffs[due] = None if previous is None or cutoff is None else max(previous, cutoff)


def alert_row(
    key: str,
    case_id: int,
    task_id: int | None,
    dept: str | None,
    level: str,
    rule: str,
    text: str,
    now: datetime,
    case_number: str | None = None,
) -> dict[str, Any]:
    """One row for `app.services.alerts.raise_alerts` (`case_number` is not a column: it saves a read)."""
    return {
        "case_number": case_number,
        "dedupe_key": key[:80],
        "case_id": case_id,
        "human_task_id": task_id,
        "department_code": dept,
        "level": level,
        "rule": rule,
        "explanation": text,
        "raised_at": now,
        "acknowledged_by_id": None,
        "acknowledged_at": None,
        "resolved_at": None,
    }


def percent(used: int, limit: int) -> int:
    """Share of the limit used, in whole percent."""
    return 100 if limit <= 0 else round(used * 100 / limit)


def step_explanation(name: str, limit: int, due: date, dates: DueDates, overdue: bool) -> str:
    """Chinese explanation naming the facts, e.g. 步骤『部门审查』时限5个工作日，已用4个工作日（80%）."""
    left = dates.remaining(due)
    used = limit - left
    if overdue:
        return (
            f"步骤『{name}』时限{limit}个工作日，截止 {due.isoformat()}，已超期"
            f"{max(0, -left)}个工作日，仍未办结"
        )
    return (
        f"步骤『{name}』时限{limit}个工作日，已用{used}个工作日（{percent(used, limit)}%），"
        f"剩余{left}个工作日（截止 {due.isoformat()}）"
    )


def case_explanation(limit: int, due: date, dates: DueDates, overdue: bool, kind: str = "承诺") -> str:
    """Chinese explanation for a case-level card."""
    left = dates.remaining(due)
    used = limit - left
    if overdue:
        return (
            f"办件{kind}时限{limit}个工作日，截止 {due.isoformat()}，已超期{max(0, -left)}个工作日，仍未办结"
        )
    return (
        f"办件{kind}时限{limit}个工作日，已用{used}个工作日（{percent(used, limit)}%），"
        f"剩余{left}个工作日（截止 {due.isoformat()}）"
    )


class ScanBudget:
    """At most `left` new alerts in one scan, most urgent first; `deferred` when candidates were left over.

    Each candidate query asks for one row more than is left (ordered by due date, the most overdue
    first), so the scan knows whether the next run has more to raise without counting them all.
    """

    def __init__(self, left: int) -> None:
        self.left = left
        self.deferred = False

    def limit(self) -> int:
        """The LIMIT of the next candidate query: what is left, plus one to see whether more remain."""
        return max(self.left, 0) + 1

    def keep(self, rows: list[dict[str, Any]], fetched: int) -> list[dict[str, Any]]:
        """The alert rows that fit. `fetched`: candidate rows the query returned (some may not warn yet);
        more than what was left means candidates remain for the next scan."""
        if fetched > self.left:
            self.deferred = True
        rows = rows[: max(self.left, 0)]
        self.left -= len(rows)
        return rows
