"""电子监察统计: per department and per item over a period, in working days (DESIGN §4).

Definitions (a period is local dates `start`..`end`, both included):

- 受理量 received: cases of a catalogue item created in the period;
- 办结量 closed: cases closed (completed or terminated) in the period;
- 按时办结 on time: closed no later than the promised due (承诺时限, pauses and extensions included);
- 提前办结 early: closed on a local date before the promised due date;
- 超期 overdue: closed after the promised due, plus cases received in the period still open past it at `now`;
- 平均用时 average: working days used by the closed cases (pauses excluded);
- 补正率: received cases with a 补正 step (task property pausesClock = 补正) / received;
- 好差评 (evaluations given in the period): 满意率 = overall ≥ 4 / evaluations; 差评 = overall ≤ 2;
  差评整改率 = 差评 whose rectification case is closed / 差评. No denominator → None ("—").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, select
from sqlalchemy.orm import Session, aliased

from app.calendar import Pause, WorkingCalendar
from app.models import Case, Department, Evaluation, HumanTask, ServiceItem
from app.services.clocks import pauses_for
from app.services.errors import InvalidInput
from app.services.runtime import load_calendar

SUPPLEMENT = "补正"
MAX_PERIOD_DAYS = 3 * 366
_CHUNK = 5000


@dataclass
class StatsRow:
    """The counts of one department, one item or the totals; rates are derived (None without data)."""

    code: str
    name: str
    department: str = ""
    received: int = 0
    closed: int = 0
    on_time: int = 0
    early: int = 0
    overdue: int = 0
    used_days: int = 0
    supplemented: int = 0
    evaluations: int = 0
    satisfied: int = 0
    bad: int = 0
    rectified: int = 0

    @staticmethod
    def _rate(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def on_time_rate(self) -> float | None:
        """按时办结率."""
        return self._rate(self.on_time, self.closed)

    @property
    def early_rate(self) -> float | None:
        """提前办结率."""
        return self._rate(self.early, self.closed)

    @property
    def average_days(self) -> float | None:
        """平均办理用时 (working days)."""
        return self._rate(self.used_days, self.closed)

    @property
    def supplement_rate(self) -> float | None:
        """补正率."""
        return self._rate(self.supplemented, self.received)

    @property
    def satisfaction_rate(self) -> float | None:
        """好差评满意率."""
        return self._rate(self.satisfied, self.evaluations)

    @property
    def rectification_rate(self) -> float | None:
        """差评整改率."""
        return self._rate(self.rectified, self.bad)

    def add(self, other: StatsRow) -> None:
        """Add another row's counts to this one."""
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


COUNTS = (
    "received",
    "closed",
    "on_time",
    "early",
    "overdue",
    "used_days",
    "supplemented",
    "evaluations",
    "satisfied",
    "bad",
    "rectified",
)
RATES = (
    "on_time_rate",
    "early_rate",
    "average_days",
    "supplement_rate",
    "satisfaction_rate",
    "rectification_rate",
)


@dataclass
class Stats:
    """Rows per department, per item, and the totals of a period."""

    start: date
    end: date
    department: str | None
    departments: list[StatsRow] = field(default_factory=list)
    items: list[StatsRow] = field(default_factory=list)
    totals: StatsRow = field(default_factory=lambda: StatsRow("total", "合计"))


@dataclass(frozen=True)
class _Item:
    code: str
    name: str
    department_code: str
    department_name: str
    promised: int


def _bounds(calendar: WorkingCalendar, start: date, end: date) -> tuple[datetime, datetime]:
    if end < start:
        raise InvalidInput("统计截止日期不能早于起始日期", {"to": "must not be before from"})
    if (end - start).days > MAX_PERIOD_DAYS:
        raise InvalidInput("统计期间过长", {"to": f"at most {MAX_PERIOD_DAYS} days"})
    begin = datetime.combine(start, time(0), tzinfo=calendar.tz)
    return begin, datetime.combine(end + timedelta(days=1), time(0), tzinfo=calendar.tz)


def _scoped(query: Select[Any], department: str | None) -> Select[Any]:
    """Restrict a query over Case to the items of one department."""
    query = query.join(ServiceItem, ServiceItem.id == Case.service_item_id)
    if department is not None:
        query = query.join(Department, Department.id == ServiceItem.department_id).where(
            Department.code == department
        )
    return query


def _sum(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _received(
    session: Session, begin: datetime, stop: datetime, department: str | None, now: datetime
) -> Any:
    """Per item: received, with 补正, still open past the promised due (one GROUP BY)."""
    supplemented = exists(
        select(HumanTask.id).where(
            HumanTask.case_id == Case.id, HumanTask.properties["pausesClock"].as_string() == SUPPLEMENT
        )
    )
    late_open = and_(Case.status == "open", Case.promised_due_at < now)
    query = select(Case.service_item_id, func.count(Case.id), _sum(supplemented), _sum(late_open)).where(
        Case.created_at >= begin, Case.created_at < stop
    )
    return session.execute(_scoped(query, department).group_by(Case.service_item_id))


def _closed_cases(session: Session, begin: datetime, stop: datetime, department: str | None) -> list[Any]:
    query = select(
        Case.id, Case.service_item_id, Case.created_at, Case.closed_at, Case.promised_due_at
    ).where(Case.closed_at >= begin, Case.closed_at < stop, Case.status.in_(("completed", "terminated")))
    return list(session.execute(_scoped(query, department)))


def _evaluations(session: Session, begin: datetime, stop: datetime, department: str | None) -> Any:
    rectification = aliased(Case)
    bad = Evaluation.overall <= 2
    rectified = and_(bad, rectification.closed_at.is_not(None))
    query = (
        select(
            Case.service_item_id,
            func.count(Evaluation.id),
            _sum(Evaluation.overall >= 4),
            _sum(bad),
            _sum(rectified),
        )
        .select_from(Evaluation)
        .join(Case, Case.id == Evaluation.case_id)
        .outerjoin(rectification, rectification.id == Evaluation.rectification_case_id)
        .where(Evaluation.created_at >= begin, Evaluation.created_at < stop)
    )
    return session.execute(_scoped(query, department).group_by(Case.service_item_id))


def _items(session: Session, item_ids: Iterable[int]) -> dict[int, _Item]:
    ids = sorted(set(item_ids))
    found: dict[int, _Item] = {}
    for start in range(0, len(ids), _CHUNK):
        query = (
            select(ServiceItem.id, ServiceItem.code, ServiceItem.name, Department.code, Department.name)
            .add_columns(ServiceItem.promised_limit_days)
            .join(Department, Department.id == ServiceItem.department_id)
            .where(ServiceItem.id.in_(ids[start : start + _CHUNK]))
        )
        for item_id, code, name, dept_code, dept_name, promised in session.execute(query):
            found[item_id] = _Item(code, name, dept_code, dept_name, promised)
    return found


def _pauses(session: Session, case_ids: Sequence[int]) -> dict[int, list[Pause]]:
    found: dict[int, list[Pause]] = {}
    for start in range(0, len(case_ids), _CHUNK):
        for case_id, pauses in pauses_for(session, case_ids[start : start + _CHUNK]).items():
            found[case_id] = [(p.started_at, p.ended_at) for p in pauses]
    return found


def _count_closed(
    rows: dict[int, StatsRow],
    closed: list[Any],
    items: dict[int, _Item],
    pauses: dict[int, list[Pause]],
    calendar: WorkingCalendar,
) -> None:
    """On time / early / late and working days used, case by case (the calendar is not in SQL)."""
    for case_id, item_id, created_at, closed_at, promised_due in closed:
        row = rows[item_id]
        due = promised_due or calendar.due_at(created_at, items[item_id].promised)
        row.closed += 1
        row.used_days += calendar.elapsed_working_days(created_at, closed_at, pauses.get(case_id, []))
        if closed_at <= due:
            row.on_time += 1
            row.early += calendar.local_date(closed_at) < calendar.local_date(due)
        else:
            row.overdue += 1


def period_statistics(
    session: Session,
    start: date,
    end: date,
    department: str | None,
    now: datetime,
    calendar: WorkingCalendar | None = None,
) -> Stats:
    """Figures per department and per item for local dates start..end (module docstring)."""
    calendar = calendar or load_calendar(session)
    begin, stop = _bounds(calendar, start, end)
    received = list(_received(session, begin, stop, department, now))
    closed = _closed_cases(session, begin, stop, department)
    evaluations = list(_evaluations(session, begin, stop, department))
    items = _items(session, [r[0] for r in received] + [r[1] for r in closed] + [r[0] for r in evaluations])
    rows = {item_id: StatsRow(item.code, item.name, item.department_name) for item_id, item in items.items()}
    for item_id, count, supplemented, late_open in received:
        rows[item_id].received += int(count)
        rows[item_id].supplemented += int(supplemented)
        rows[item_id].overdue += int(late_open)
    _count_closed(rows, closed, items, _pauses(session, [r[0] for r in closed]), calendar)
    for item_id, count, satisfied, bad, rectified in evaluations:
        row = rows[item_id]
        row.evaluations, row.satisfied, row.bad, row.rectified = (
            int(count),
            int(satisfied),
            int(bad),
            int(rectified),
        )
    return _assemble(Stats(start, end, department), rows, items)


def _assemble(stats: Stats, rows: dict[int, StatsRow], items: dict[int, _Item]) -> Stats:
    departments: dict[str, StatsRow] = {}
    for item_id, row in rows.items():
        item = items[item_id]
        group = departments.setdefault(
            item.department_code, StatsRow(item.department_code, item.department_name)
        )
        group.add(row)
        stats.totals.add(row)
    stats.departments = sorted(departments.values(), key=lambda r: (-r.received, r.code))
    stats.items = sorted(rows.values(), key=lambda r: (r.department, -r.received, r.code))
    return stats


def stats_json(stats: Stats) -> dict[str, Any]:
    """The statistics as JSON (API, the charts' data block)."""
    return {
        "from": stats.start.isoformat(),
        "to": stats.end.isoformat(),
        "department": stats.department,
        "departments": [row_json(r) for r in stats.departments],
        "items": [row_json(r) for r in stats.items],
        "totals": row_json(stats.totals),
    }


def row_json(row: StatsRow) -> dict[str, Any]:
    """One row: code, name, counts and rates (rates rounded to 4 places, None when undefined)."""
    body: dict[str, Any] = {"code": row.code, "name": row.name, "department": row.department}
    body |= {name: getattr(row, name) for name in COUNTS}
    for name in RATES:
        value = getattr(row, name)
        body[name] = None if value is None else round(value, 4)
    return body
