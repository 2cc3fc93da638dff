"""Supervision alerts (预警 / 黄牌 / 红牌): the set-based deadline scan, self-resolution, acknowledgement.

One alert per (case, step, level): `dedupe_key` is `"{case}:{task}:{level}"` for step cards,
`"{case}:-:{level}"` for case cards, `"{case}:o{order}:red"` for an unanswered 督办 order past its
deadline and `"{case}:a-{rule}:red"` for a serious anomaly. Rows are inserted with
INSERT … ON CONFLICT DO NOTHING, so the scan is idempotent and safe when two nodes run it at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    cast,
    exists,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.calendar import WorkingCalendar
from app.models import Alert, Case, Department, HumanTask, ServiceItem, SupervisionOrder, User
from app.services.alert_raising import raise_alerts_pg
from app.services.alert_routing import announce_loaded, load_alerts, route_loaded
from app.services.audit import record_event
from app.services.case_alerts import case_alert_rows, refresh_paused_clocks
from app.services.deadline_rules import (
    DueDates,
    ScanBudget,
    Threshold,
    alert_row,
    item_threshold,
    merge_cutoff,
    step_explanation,
    step_threshold,
)
from app.services.errors import NotFound, PermissionDenied
from app.services.runtime import load_calendar, local_minutes

CLOSED = ("completed", "terminated")
# New alerts per scan: a first scan over a backlog (say 100 000 late steps after an import) raises the
# most urgent ones now — 督办 red cards, then overdue steps and cases by how late they are, then warnings
# by due date — and the rest on the next runs (every 5 minutes), so each scan stays bounded.
ALERT_BUDGET = 10_000


@dataclass(frozen=True)
class ScanReport:
    """What one scan did: alerts raised (by level) and alerts that resolved themselves."""

    raised: int
    resolved: int
    by_level: dict[str, int] = field(default_factory=dict)
    deferred: bool = False  # the budget was reached: more alerts are raised by the next scan


def dedupe_key(case_id: Any, task: Any, level: str) -> ColumnElement[str]:
    """The SQL expression of an alert key, for NOT EXISTS filters (uses the unique index)."""
    return cast(case_id, String) + literal(":") + cast(task, String) + literal(f":{level}")


def not_alerted(key: ColumnElement[str]) -> ColumnElement[bool]:
    """No alert with this key exists yet."""
    return ~exists(select(Alert.id).where(Alert.dedupe_key == key))


def insert_alerts(session: Session, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert alerts, skipping keys that exist (ON CONFLICT DO NOTHING); return the rows really inserted.

    INSERT … ON CONFLICT DO NOTHING RETURNING (multi-row VALUES batches): only the keys this call
    inserted come back, even when an existing alert was raised at the same instant.
    """
    if not rows:
        return []
    connection = session.connection()
    module: Any = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = module.insert(Alert).on_conflict_do_nothing(index_elements=["dedupe_key"])
    columns = [{name: value for name, value in row.items() if name != "case_number"} for row in rows]
    inserted = set(connection.execute(statement.returning(Alert.dedupe_key), columns).scalars())
    return [row for row in rows if row["dedupe_key"] in inserted]


def raise_alerts(session: Session, rows: Sequence[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Insert alert rows (a key that exists is skipped) and announce the new ones; return them by id.

    Rows may carry the alert's `case_number` (not a column). PostgreSQL inserts the alerts, writes their
    events and reads the new alerts back in one statement (app/services/alert_raising.py); SQLite inserts,
    reads back, then builds the events in Python.
    """
    if not rows:
        return []
    session.flush()
    if session.connection().dialect.name == "postgresql":
        inserted = raise_alerts_pg(session, rows, now)  # with the alert.raised events
        route_loaded(session, inserted, now)
    else:
        inserted = load_alerts(session, [row["dedupe_key"] for row in insert_alerts(session, rows)])
        announce_loaded(session, inserted, now)
    return inserted


def _step_thresholds(session: Session, dates: DueDates) -> tuple[dict[tuple[Any, ...], Threshold], list[Any]]:
    """Thresholds per distinct (due, item, step ratio, step days) of open tasks, and the SQL filter."""
    ratio = HumanTask.properties["warningRatio"].as_string()
    days = HumanTask.properties["warningDays"].as_string()
    query = (
        select(HumanTask.due_at, Case.service_item_id, ratio, days)
        .join(Case, Case.id == HumanTask.case_id)
        .where(HumanTask.state == "open", HumanTask.due_at.is_not(None), Case.status == "open")
        .distinct()
    )
    combos = session.execute(query).all()
    items = _item_thresholds(session, {c[1] for c in combos if c[1] is not None})
    thresholds: dict[tuple[Any, ...], Threshold] = {}
    cutoffs: dict[datetime, datetime | None] = {}
    for due_at, item_id, step_ratio, step_days in combos:
        threshold = step_threshold(items.get(item_id, Threshold()), step_ratio, step_days)
        thresholds[(due_at, item_id, step_ratio, step_days)] = threshold
        if due_at < dates.now:
            continue
        merge_cutoff(cutoffs, due_at, dates.created_cutoff(dates.local(due_at), threshold))
    filters = [
        HumanTask.due_at == due
        if cutoff is None
        else and_(HumanTask.due_at == due, HumanTask.created_at < cutoff)
        for due, cutoff in cutoffs.items()
    ]
    return thresholds, filters


def _item_thresholds(session: Session, item_ids: set[int]) -> dict[int | None, Threshold]:
    if not item_ids:
        return {}
    rows = session.execute(select(ServiceItem.id, ServiceItem.settings).where(ServiceItem.id.in_(item_ids)))
    return {item_id: item_threshold(settings) for item_id, settings in rows}


def _step_rows(session: Session, dates: DueDates, budget: ScanBudget, level: str) -> list[dict[str, Any]]:
    """Yellow (overdue) or warning rows for open steps that do not have them yet, earliest due first."""
    thresholds, warning_filters = _step_thresholds(session, dates)
    ratio = HumanTask.properties["warningRatio"].as_string()
    days = HumanTask.properties["warningDays"].as_string()
    columns = (
        HumanTask.id,
        HumanTask.case_id,
        Case.number,
        HumanTask.name,
        HumanTask.candidate_department,
        HumanTask.created_at,
        HumanTask.due_at,
        Case.service_item_id,
        ratio,
        days,
    )
    base = (
        select(*columns)
        .join(Case, Case.id == HumanTask.case_id)
        .where(HumanTask.state == "open", Case.status == "open")
    )
    texts: dict[tuple[Any, ...], str | None] = {}  # per distinct (step name, created day, due, threshold)
    if level == "yellow":
        query = base.where(
            HumanTask.due_at < dates.now, not_alerted(dedupe_key(HumanTask.case_id, HumanTask.id, "yellow"))
        )
    elif warning_filters:
        query = base.where(
            HumanTask.due_at >= dates.now,
            or_(*warning_filters),
            not_alerted(dedupe_key(HumanTask.case_id, HumanTask.id, "warning")),
        )
    else:
        return []
    found = session.execute(query.order_by(HumanTask.due_at, HumanTask.id).limit(budget.limit())).all()
    rows = _step_cards(found, dates, None if level == "yellow" else thresholds, level, texts)
    return budget.keep(rows, len(found))


def _step_cards(
    found: Iterable[Any],
    dates: DueDates,
    thresholds: dict[tuple[Any, ...], Threshold] | None,
    level: str,
    texts: dict[tuple[Any, ...], str | None],
) -> list[dict[str, Any]]:
    """Alert rows of one level for candidate steps (thresholds None: overdue); tens of thousands of rows
    on a first scan, so the rows are unpacked by position and each explanation is written once."""
    rule = "step_overdue" if level == "yellow" else "step_due_soon"
    local, now = dates.local, dates.now
    rows = []
    for task_id, case_id, number, name, department, created, due_at, item_id, ratio, days in found:
        threshold = None if thresholds is None else thresholds[(due_at, item_id, ratio, days)]
        key = (name, local(created), due_at, threshold)
        if key not in texts:
            texts[key] = _step_text(name, key[1], due_at, dates, threshold)
        text = texts[key]
        if text is not None:
            dedupe = f"{case_id}:{task_id}:{level}"
            rows.append(alert_row(dedupe, case_id, task_id, department, level, rule, text, now, number))
    return rows


def _step_text(
    name: str, created: Any, due_at: datetime, dates: DueDates, threshold: Threshold | None
) -> str | None:
    """The explanation of a step card; None when the step does not warn yet (threshold None: overdue)."""
    due = dates.local(due_at)
    limit = dates.limit(created, due)
    if threshold is not None and not dates.warns(limit, due, threshold):
        return None
    return step_explanation(name, limit, due, dates, overdue=threshold is None)


def _order_rows(session: Session, now: datetime, budget: ScanBudget) -> list[dict[str, Any]]:
    """Red cards: an unanswered 督办 order past its deadline on a still-open case, earliest deadline first."""
    key = dedupe_key(SupervisionOrder.case_id, literal("o") + cast(SupervisionOrder.id, String), "red")
    query = (
        select(
            SupervisionOrder.id,
            SupervisionOrder.case_id,
            SupervisionOrder.deadline,
            Department.code,
            Department.name,
            Case.number,
        )
        .join(Department, Department.id == SupervisionOrder.department_id)
        .join(Case, Case.id == SupervisionOrder.case_id)
        .where(
            SupervisionOrder.status == "open",
            SupervisionOrder.deadline < now,
            Case.status == "open",
            not_alerted(key),
        )
    )
    found = session.execute(
        query.order_by(SupervisionOrder.deadline, SupervisionOrder.id).limit(budget.limit())
    )
    rows = []
    fetched = 0
    for order_id, case_id, deadline, code, name, number in found:
        fetched += 1
        text = f"督办单要求{name}于 {local_minutes(deadline)} 前办理并答复，期限已过仍未答复"
        dedupe = f"{case_id}:o{order_id}:red"
        rows.append(alert_row(dedupe, case_id, None, code, "red", "order_overdue", text, now, number))
    return budget.keep(rows, fetched)


def resolve_alerts(session: Session, now: datetime) -> int:
    """Resolve alerts whose step is no longer open, whose case closed, or whose order was answered."""
    task_done = exists(
        select(HumanTask.id).where(HumanTask.id == Alert.human_task_id, HumanTask.state != "open")
    )
    case_closed = exists(select(Case.id).where(Case.id == Alert.case_id, Case.status.in_(CLOSED)))
    order_done = and_(
        Alert.rule == "order_overdue",
        ~exists(
            select(SupervisionOrder.id).where(
                SupervisionOrder.case_id == Alert.case_id,
                SupervisionOrder.status == "open",
                dedupe_key(SupervisionOrder.case_id, literal("o") + cast(SupervisionOrder.id, String), "red")
                == Alert.dedupe_key,
            )
        ),
    )
    stmt = (
        update(Alert)
        .where(Alert.resolved_at.is_(None), or_(task_done, case_closed, order_done))
        .values(resolved_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]


def scan_deadlines(
    session: Session, now: datetime, calendar: WorkingCalendar | None = None, budget: int = ALERT_BUDGET
) -> ScanReport:
    """Raise warning / yellow / red cards that are due (at most `budget`, most urgent first) and resolve
    the ones that no longer apply."""
    calendar = calendar or load_calendar(session)
    dates = DueDates(calendar, now)
    resolved = resolve_alerts(session, now)
    refresh_paused_clocks(session, calendar, now)
    left = ScanBudget(budget)
    rows = _order_rows(session, now, left)
    rows += _step_rows(session, dates, left, "yellow")
    rows += case_alert_rows(session, dates, left, "yellow")
    rows += _step_rows(session, dates, left, "warning")
    rows += case_alert_rows(session, dates, left, "warning")
    inserted = raise_alerts(session, rows, now)
    by_level: dict[str, int] = {}
    for row in inserted:
        by_level[row["level"]] = by_level.get(row["level"], 0) + 1
    session.flush()
    return ScanReport(raised=len(inserted), resolved=resolved, by_level=by_level, deferred=left.deferred)


def acknowledge_alert(session: Session, alert_id: int, actor: User, now: datetime) -> Alert:
    """The supervision office (or the department's head) has seen the alert; twice is a no-op."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound("预警不存在 (no such alert)")
    own_department = alert.department_code is not None and alert.department_code in actor.department_codes()
    if not (actor.has_role("supervisor") or (own_department and actor.has_role("dept_head"))):
        raise PermissionDenied("只有监察人员或相关部门负责人可以确认预警 (supervisor only)")
    if alert.acknowledged_at is None:
        alert.acknowledged_by_id, alert.acknowledged_at = actor.id, now
        session.flush()
        case = session.get(Case, alert.case_id)
        record_event(
            session, case, actor, "alert.acknowledged", {"alert": alert.id, "level": alert.level}, now
        )
    return alert
