"""Period statistics in working days: hand-computed per item, per department and in total; exports.

Calendar: November 2026 has no holiday and no 调休, so working days are Monday–Friday:
  week 1: Mon 11-02 … Fri 11-06; week 2: Mon 11-09 … Fri 11-13; week 3: Mon 11-16 … Fri 11-20;
  Mon 11-23 is "now" (09:30). The period is 2026-11-09 … 2026-11-20 (both included).
Item A (department market, 承诺 5 working days), item B (department tax, 承诺 3 working days).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from app.models import Case, Evaluation, ServiceItem, User
from app.services.accounts import ensure_department
from app.services.errors import InvalidInput
from app.services.exports import BOM, HEADER, stats_csv, stats_xlsx
from app.services.runtime import invalidate_calendar
from app.services.statistics import Stats, period_statistics, stats_json
from tests.factories import create_user
from tests.services import supervision_data as data

TZ = ZoneInfo("Asia/Shanghai")
START, END = date(2026, 11, 9), date(2026, 11, 20)


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def end_of(day: int) -> datetime:
    return datetime(2026, 11, day, 23, 59, 59, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _fresh_calendar() -> Iterator[None]:
    invalidate_calendar()
    yield
    invalidate_calendar()


def _evaluate(session: Session, case: Case, user: User, overall: int, rectification: Case | None) -> None:
    rectification_id = rectification.id if rectification else None
    row = Evaluation(
        case_id=case.id,
        user_id=user.id,
        overall=overall,
        scores={},
        comment="",
        created_at=at(20, 9),
        rectification_case_id=rectification_id,
    )
    session.add(row)


@pytest.fixture
def items(session: Session, now: datetime) -> dict[str, ServiceItem]:
    """The cases of the module docstring; the comments give each one's hand-computed figures."""
    pv = data.version(session, now)
    a = data.item(session, promised=5)
    b = data.item(session, promised=3)
    b.department = ensure_department(session, "tax", "税务局")
    user = create_user(session, now, roles=[("applicant", None)])

    def make(item: ServiceItem | None, created: datetime, **kw: object) -> Case:
        due = kw.pop("due", None)
        row = data.case(session, pv, created, service_item=item, **kw)  # type: ignore[arg-type]
        row.promised_due_at = due  # type: ignore[assignment]
        return row

    # 1: due = 5th working day after 11-09 (10,11,12,13,16) = 11-16; closed 11-12 → on time and early;
    #    used = working days in (11-09, 11-12] = 10, 11, 12 = 3.
    c1 = make(a, at(9, 10), status="completed", closed=at(12, 16), due=end_of(16))
    # 2: due 11-16; closed 11-16 15:00 → on time, not early (same day); used (11-09, 11-16] = 5.
    c2 = make(a, at(9, 9), status="completed", closed=at(16, 15), due=end_of(16))
    # 3: 补正 from 11-11 09:00 to 11-13 17:00 pauses the clock; only 11-12 is paused entirely,
    #    so the due moves from 11-17 (11,12,13,16,17) to 11-18; closed 11-19 → overdue;
    #    used = (11-10, 11-19] = 11,12,13,16,17,18,19 = 7 minus the paused 11-12 = 6. Counts as 补正.
    c3 = make(a, at(10, 9), status="completed", closed=at(19, 10), due=end_of(18))
    data.task(
        session,
        c3,
        at(11, 9),
        None,
        state="completed",
        completed=at(13, 17),
        properties={"pausesClock": "补正"},
    )
    # 4: received, still open, due 11-25 → not overdue at now (11-23).
    make(a, at(18, 9), due=end_of(25))
    # 5: received, still open, due 11-16 → overdue at now.
    make(a, at(9, 8), due=end_of(16))
    # 6 (item B): received 11-04, before the period; no stored due → calendar: 3 working days after 11-04
    #    (05, 06, 09) = 11-09; closed 11-10 → overdue; used = (11-04, 11-10] = 05, 06, 09, 10 = 4.
    c6 = make(b, at(4, 10), status="completed", closed=at(10, 12))
    # 7: received on the last day of the period, open, no due yet.
    make(a, at(20, 10))
    # 8: received after the period: not counted.
    make(a, at(23, 9, 0), due=end_of(30))
    # 好差评: c1 非常满意 (5), c2 满意 (4), c3 差评 (1) rectified (closed rectification case),
    # c6 差评 (2) whose rectification case is still open.
    fixed = make(None, at(20, 10), status="completed", closed=at(20, 11))
    pending = make(None, at(20, 10))
    _evaluate(session, c1, user, 5, None)
    _evaluate(session, c2, user, 4, None)
    _evaluate(session, c3, user, 1, fixed)
    _evaluate(session, c6, user, 2, pending)
    session.flush()
    return {"A": a, "B": b}


def _stats(session: Session, now: datetime, department: str | None = None) -> Stats:
    return period_statistics(session, START, END, department, now)


EXPECTED = {
    # item A: received 1,2,3,4,5,7; closed 1,2,3; overdue = 3 (closed late) + 5 (open past due)
    "A": {
        "received": 6,
        "closed": 3,
        "on_time": 2,
        "early": 1,
        "overdue": 2,
        "used_days": 14,  # 3 + 5 + 6
        "supplemented": 1,
        "evaluations": 3,
        "satisfied": 2,
        "bad": 1,
        "rectified": 1,
    },
    "B": {"received": 0, "closed": 1, "on_time": 0, "early": 0, "overdue": 1, "used_days": 4, "bad": 1},
    "total": {"received": 6, "closed": 4, "on_time": 2, "early": 1, "overdue": 3, "used_days": 18},
}


@pytest.mark.parametrize(
    ("row", "field", "expected"),
    [(row, field, value) for row, fields in EXPECTED.items() for field, value in fields.items()],
)
def test_counts(
    session: Session, now: datetime, items: dict[str, ServiceItem], row: str, field: str, expected: int
) -> None:
    stats = _stats(session, now)
    rows = {r.code: r for r in stats.items} | {"total": stats.totals}
    key = items[row].code if row in items else row
    assert getattr(rows[key], field) == expected


@pytest.mark.parametrize(
    ("row", "rate", "expected"),
    [
        ("A", "on_time_rate", 2 / 3),
        ("A", "early_rate", 1 / 3),
        ("A", "average_days", 14 / 3),
        ("A", "supplement_rate", 1 / 6),
        ("A", "satisfaction_rate", 2 / 3),
        ("A", "rectification_rate", 1.0),
        ("B", "on_time_rate", 0.0),
        ("B", "supplement_rate", None),  # nothing received in the period
        ("B", "satisfaction_rate", 0.0),
        ("B", "rectification_rate", 0.0),
        ("total", "on_time_rate", 0.5),
        ("total", "early_rate", 0.25),
        ("total", "average_days", 4.5),
        ("total", "satisfaction_rate", 0.5),
        ("total", "rectification_rate", 0.5),
    ],
)
def test_rates(
    session: Session,
    now: datetime,
    items: dict[str, ServiceItem],
    row: str,
    rate: str,
    expected: float | None,
) -> None:
    stats = _stats(session, now)
    rows = {r.code: r for r in stats.items} | {"total": stats.totals}
    value = getattr(rows[items[row].code if row in items else row], rate)
    assert value == (None if expected is None else pytest.approx(expected))


def test_departments_group_items(session: Session, now: datetime, items: dict[str, ServiceItem]) -> None:
    stats = _stats(session, now)
    by_code = {r.code: r for r in stats.departments}
    assert set(by_code) == {"market", "tax"}
    assert (by_code["market"].received, by_code["market"].closed) == (6, 3)
    assert (by_code["tax"].received, by_code["tax"].closed, by_code["tax"].name) == (0, 1, "税务局")


def test_department_filter(session: Session, now: datetime, items: dict[str, ServiceItem]) -> None:
    stats = _stats(session, now, "tax")
    assert [r.code for r in stats.departments] == ["tax"]
    assert [r.code for r in stats.items] == [items["B"].code]
    assert stats.totals.closed == 1


def test_no_evaluations_means_no_rate(session: Session, now: datetime, items: dict[str, ServiceItem]) -> None:
    stats = period_statistics(session, date(2026, 11, 2), date(2026, 11, 6), None, now)
    assert stats.totals.evaluations == 0
    assert stats.totals.satisfaction_rate is None and stats.totals.rectification_rate is None
    assert stats_json(stats)["totals"]["satisfaction_rate"] is None


def test_empty_period(session: Session, now: datetime) -> None:
    stats = period_statistics(session, date(2020, 1, 1), date(2020, 1, 31), None, now)
    assert stats.items == [] and stats.departments == [] and stats.totals.received == 0


@pytest.mark.parametrize(
    ("start", "end"), [(date(2026, 11, 9), date(2026, 11, 8)), (date(2020, 1, 1), date(2026, 1, 1))]
)
def test_invalid_period(session: Session, now: datetime, start: date, end: date) -> None:
    with pytest.raises(InvalidInput):
        period_statistics(session, start, end, None, now)


def test_csv_has_bom_header_and_rows(session: Session, now: datetime, items: dict[str, ServiceItem]) -> None:
    body = stats_csv(_stats(session, now))
    assert body.startswith(BOM.encode("utf-8"))
    lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert lines[0] == ["统计期间 2026-11-09 至 2026-11-20"]
    assert lines[1] == ["按部门"] and lines[2] == list(HEADER)
    market = next(line for line in lines if line[0] == "market")
    assert market[3:7] == ["6", "3", "2", "66.7%"]


def test_xlsx_cells(session: Session, now: datetime, items: dict[str, ServiceItem]) -> None:
    workbook = load_workbook(io.BytesIO(stats_xlsx(_stats(session, now))))
    assert workbook.sheetnames == ["按部门", "按事项"]
    sheet = workbook["按事项"]
    assert sheet["A2"].value == "编码" and sheet["G2"].value == "按时办结率"
    rows = {r[0]: r for r in sheet.iter_rows(min_row=3, values_only=True)}
    a = rows[items["A"].code]
    assert (a[3], a[4], a[5], a[6], a[9], a[10]) == (6, 3, 2, "66.7%", 2, "4.7")
    assert rows["total"][4] == 4 and rows["total"][16] == "50.0%"
