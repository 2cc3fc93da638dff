"""Case-level cards of the deadline scan (承诺 / 法定时限 of the whole case) and clock upkeep.

A case whose clock is stopped (an open 补正 task or a running §45 pause) gets no case-level card. The
scan first fills missing due dates and moves the due dates of cases whose pauses ended.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, cast, exists, func, literal, or_, select, update
from sqlalchemy.orm import Session

from app.calendar import WorkingCalendar
from app.models import Alert, Case, CaseExtension, ClockPause, Department, HumanTask, ServiceItem
from app.services.clocks import (
    approved_extension_days,
    compute_case_clocks,
    effective_dues,
    pauses_for,
)
from app.services.deadline_rules import (
    DueDates,
    ScanBudget,
    Threshold,
    alert_row,
    case_explanation,
    item_threshold,
    merge_cutoff,
)

MISSING_CLOCKS_BATCH = 500
_PAUSES_CLOCK = HumanTask.properties["pausesClock"].as_string()


def _case_key(level: str) -> Any:
    return cast(Case.id, String) + literal(f":-:{level}")


def _not_alerted(level: str) -> Any:
    return ~exists(select(Alert.id).where(Alert.dedupe_key == _case_key(level)))


def clock_running() -> Any:
    """SQL: the case's clock is not stopped (no open 补正 task, no running §45 pause)."""
    waiting = exists(
        select(HumanTask.id).where(
            HumanTask.case_id == Case.id, HumanTask.state == "open", _PAUSES_CLOCK.is_not(None)
        )
    )
    pausing = exists(
        select(ClockPause.id).where(ClockPause.case_id == Case.id, ClockPause.ended_at.is_(None))
    )
    return and_(~waiting, ~pausing)


def refresh_paused_clocks(session: Session, calendar: WorkingCalendar, now: datetime) -> int:
    """Fill missing due dates and move the due dates of open cases with pauses; return the cases updated."""
    missing = select(Case).where(
        Case.status == "open", Case.service_item_id.is_not(None), Case.promised_due_at.is_(None)
    )
    changed = 0
    for case in session.scalars(missing.limit(MISSING_CLOCKS_BATCH)):
        compute_case_clocks(session, case, now, calendar)
        changed += 1
    with_pauses = (
        select(Case.id)
        .where(Case.status == "open", Case.service_item_id.is_not(None))
        .where(
            or_(
                exists(select(HumanTask.id).where(HumanTask.case_id == Case.id, _PAUSES_CLOCK.is_not(None))),
                exists(select(ClockPause.id).where(ClockPause.case_id == Case.id)),
            )
        )
    )
    ids = list(session.scalars(with_pauses))
    return changed + _recompute(session, calendar, ids, now)


def _recompute(session: Session, calendar: WorkingCalendar, case_ids: Sequence[int], now: datetime) -> int:
    if not case_ids:
        return 0
    pauses = pauses_for(session, case_ids)
    extensions = approved_extension_days(session, case_ids)
    changed = 0
    cases = session.scalars(select(Case).join(Case.service_item).where(Case.id.in_(case_ids)))
    for case in cases:
        item = case.service_item
        assert item is not None  # joined above
        dues = effective_dues(calendar, case, item, pauses.get(case.id, []), extensions.get(case.id, 0), now)
        if dues != (case.statutory_due_at, case.promised_due_at):
            session.execute(
                update(Case)
                .where(Case.id == case.id)
                .values(statutory_due_at=dues[0], promised_due_at=dues[1])
                .execution_options(synchronize_session=False)
            )
            session.expire(case, ["statutory_due_at", "promised_due_at"])
            changed += 1
    return changed


def _distinct_dues(session: Session, due: Any) -> list[tuple[datetime, int | None, Any]]:
    query = (
        select(due, Case.service_item_id, ServiceItem.settings)
        .outerjoin(ServiceItem, ServiceItem.id == Case.service_item_id)
        .where(Case.status == "open", due.is_not(None))
        .distinct()
    )
    return [(row[0], row[1], row[2]) for row in session.execute(query)]


def case_alert_rows(
    session: Session, dates: DueDates, budget: ScanBudget, level: str
) -> list[dict[str, Any]]:
    """Yellow (past) or warning (near) cards for open, running cases by their promised (else statutory)
    due, earliest due first, within the scan's budget."""
    due = func.coalesce(Case.promised_due_at, Case.statutory_due_at)
    thresholds: dict[int | None, Threshold] = {}
    cutoffs: dict[datetime, datetime | None] = {}
    for due_at, item_id, settings in _distinct_dues(session, due):
        threshold = thresholds.setdefault(item_id, item_threshold(settings))
        if due_at >= dates.now:
            merge_cutoff(cutoffs, due_at, dates.created_cutoff(dates.local(due_at), threshold))
    extended = (
        select(CaseExtension.case_id, func.sum(CaseExtension.working_days).label("days"))
        .where(CaseExtension.approved_at.is_not(None))
        .group_by(CaseExtension.case_id)
        .subquery()
    )
    base = (
        select(
            Case.id, Case.created_at, due.label("due"), Case.service_item_id, ServiceItem.promised_limit_days
        )
        .add_columns(Department.code.label("dept"), extended.c.days, Case.number)
        .outerjoin(ServiceItem, ServiceItem.id == Case.service_item_id)
        .outerjoin(Department, Department.id == ServiceItem.department_id)
        .outerjoin(extended, extended.c.case_id == Case.id)
        .where(Case.status == "open", clock_running())
    )
    if level == "yellow":
        query = base.where(due < dates.now, _not_alerted("yellow"))
    elif cutoffs:
        soon = [due == d if c is None else and_(due == d, Case.created_at < c) for d, c in cutoffs.items()]
        query = base.where(due >= dates.now, or_(*soon), _not_alerted("warning"))
    else:
        return []
    found = session.execute(query.order_by(due, Case.id).limit(budget.limit())).all()
    texts: dict[tuple[Any, ...], tuple[str, str, str] | None] = {}  # few distinct (limit, due, item) facts
    rows: list[dict[str, Any]] = []
    local, now = dates.local, dates.now
    for case_id, created, due_at, item_id, promised, dept, extended_days, number in found:
        key = (local(created), due_at, item_id, promised, extended_days)
        if key not in texts:
            texts[key] = _card(dates, thresholds.get(item_id, Threshold()), key)
        card = texts[key]
        if card is not None:
            card_level, rule, text = card
            dedupe = f"{case_id}:-:{card_level}"
            rows.append(alert_row(dedupe, case_id, None, dept, card_level, rule, text, now, number))
    return budget.keep(rows, len(found))


def _card(dates: DueDates, threshold: Threshold, facts: tuple[Any, ...]) -> tuple[str, str, str] | None:
    """(level, rule, explanation) of a case card for (created day, due, item, promised days, extension
    days); None when the case does not warn yet."""
    created, due_at, _item, promised, extended_days = facts
    due_day = dates.local(due_at)
    limit = dates.limit(created, due_day)
    if promised is not None:
        limit = promised + int(extended_days or 0)
    overdue = due_at < dates.now
    if not overdue and not dates.warns(limit, due_day, threshold):
        return None
    if overdue:
        return "yellow", "case_overdue", case_explanation(limit, due_day, dates, overdue)
    return "warning", "case_due_soon", case_explanation(limit, due_day, dates, overdue)
