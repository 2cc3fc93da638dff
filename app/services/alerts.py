"""Supervision alerts (预警 / 黄牌 / 红牌): the set-based deadline scan, self-resolution, acknowledgement.

One alert per (case, step, level): `dedupe_key` is `"{case}:{task}:{level}"` for step cards,
`"{case}:-:{level}"` for case cards, `"{case}:o{order}:red"` for an unanswered 督办 order past its
deadline and `"{case}:a-{rule}:red"` for a serious anomaly. Rows are inserted with
INSERT … ON CONFLICT DO NOTHING, so the scan is idempotent and safe when two nodes run it at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from app.calendar import WorkingCalendar
from app.models import Alert, Case, Department, HumanTask, ServiceItem, SupervisionOrder, User
from app.services.alert_routing import announce_many
from app.services.audit import record_event
from app.services.case_alerts import case_alert_rows, refresh_paused_clocks
from app.services.deadline_rules import (
    DueDates,
    Threshold,
    alert_row,
    item_threshold,
    merge_cutoff,
    step_explanation,
    step_threshold,
)
from app.services.errors import NotFound, PermissionDenied
from app.services.runtime import load_calendar

CLOSED = ("completed", "terminated")


@dataclass(frozen=True)
class ScanReport:
    """What one scan did: alerts raised (by level) and alerts that resolved themselves."""

    raised: int
    resolved: int
    by_level: dict[str, int] = field(default_factory=dict)


def dedupe_key(case_id: Any, task: Any, level: str) -> ColumnElement[str]:
    """The SQL expression of an alert key, for NOT EXISTS filters (uses the unique index)."""
    return cast(case_id, String) + literal(":") + cast(task, String) + literal(f":{level}")


def not_alerted(key: ColumnElement[str]) -> ColumnElement[bool]:
    """No alert with this key exists yet."""
    return ~exists(select(Alert.id).where(Alert.dedupe_key == key))


_COLUMNS = ("dedupe_key", "case_id", "human_task_id", "department_code", "level", "rule", "explanation")
_ARRAY_TYPES = (String, Integer, Integer, String, String, String, Text)


def _pg_insert_alerts() -> Any:
    """PostgreSQL: one INSERT … SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING RETURNING."""
    arrays: list[Any] = [
        bindparam(name, type_=ARRAY(kind)) for name, kind in zip(_COLUMNS, _ARRAY_TYPES, strict=True)
    ]
    rows = func.unnest(*arrays).table_valued(*_COLUMNS).render_derived()
    source = select(*(rows.c[name] for name in _COLUMNS), bindparam("now", type_=Alert.raised_at.type))
    return (
        postgresql.insert(Alert)
        .from_select([*_COLUMNS, "raised_at"], source)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Alert.dedupe_key)
    )


_PG_INSERT = _pg_insert_alerts()


def insert_alerts(session: Session, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert alerts, skipping keys that exist (ON CONFLICT DO NOTHING); return the rows really inserted."""
    if not rows:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        params = {name: [row[name] for row in rows] for name in _COLUMNS}
        params["now"] = rows[0]["raised_at"]
        inserted = set(connection.execute(_PG_INSERT, params).scalars())
    else:  # SQLite: ON CONFLICT DO NOTHING (INSERT OR IGNORE) per row, then read the keys back
        connection.execute(
            sqlite.insert(Alert).on_conflict_do_nothing(index_elements=["dedupe_key"]), list(rows)
        )
        keys = [row["dedupe_key"] for row in rows]
        inserted = set()
        for start in range(0, len(keys), 5000):  # SQLite limits the number of bound parameters
            chunk = keys[start : start + 5000]
            query = select(Alert.dedupe_key).where(
                Alert.raised_at == rows[0]["raised_at"], Alert.dedupe_key.in_(chunk)
            )
            inserted.update(connection.execute(query).scalars())
    return [row for row in rows if row["dedupe_key"] in inserted]


def announce_alerts(session: Session, rows: Sequence[dict[str, Any]], now: datetime) -> list[int]:
    """alert.raised events and routing (inbox, e-mail, SMS) for alert rows `insert_alerts` just inserted.

    Set-based (app/services/alert_routing.py): the same rows `emit_alert_raised` + `route_alert` write
    alert by alert, in a few queries and multi-row INSERTs; returns the ids of the announced alerts.
    """
    return announce_many(session, [row["dedupe_key"] for row in rows], now)


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


def _step_rows(session: Session, dates: DueDates) -> list[dict[str, Any]]:
    """Warning and yellow rows for open steps that do not have them yet."""
    thresholds, warning_filters = _step_thresholds(session, dates)
    ratio = HumanTask.properties["warningRatio"].as_string()
    days = HumanTask.properties["warningDays"].as_string()
    columns = (
        HumanTask.id,
        HumanTask.case_id,
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
    rows: list[dict[str, Any]] = []
    overdue = base.where(
        HumanTask.due_at < dates.now, not_alerted(dedupe_key(HumanTask.case_id, HumanTask.id, "yellow"))
    )
    for row in session.execute(overdue):
        rows.append(_step_row(row, dates, None, "yellow"))
    if warning_filters:
        soon = base.where(
            HumanTask.due_at >= dates.now,
            or_(*warning_filters),
            not_alerted(dedupe_key(HumanTask.case_id, HumanTask.id, "warning")),
        )
        for row in session.execute(soon):
            threshold = thresholds[(row.due_at, row.service_item_id, row[7], row[8])]
            rows.append(_step_row(row, dates, threshold, "warning"))
    return [row for row in rows if row]


def _step_row(row: Any, dates: DueDates, threshold: Threshold | None, level: str) -> dict[str, Any]:
    due = dates.local(row.due_at)
    limit = dates.limit(dates.local(row.created_at), due)
    if threshold is not None and not dates.warns(limit, due, threshold):
        return {}
    text = step_explanation(row.name, limit, due, dates, overdue=threshold is None)
    rule = "step_overdue" if level == "yellow" else "step_due_soon"
    key = f"{row.case_id}:{row.id}:{level}"
    return alert_row(key, row.case_id, row.id, row.candidate_department, level, rule, text, dates.now)


def _order_rows(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Red cards: an unanswered 督办 order past its deadline on a still-open case."""
    key = dedupe_key(SupervisionOrder.case_id, literal("o") + cast(SupervisionOrder.id, String), "red")
    query = (
        select(
            SupervisionOrder.id,
            SupervisionOrder.case_id,
            SupervisionOrder.deadline,
            Department.code,
            Department.name,
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
    rows = []
    for order_id, case_id, deadline, code, name in session.execute(query):
        text = f"督办单要求{name}于 {deadline.isoformat(timespec='minutes')} 前办理并答复，期限已过仍未答复"
        rows.append(
            alert_row(f"{case_id}:o{order_id}:red", case_id, None, code, "red", "order_overdue", text, now)
        )
    return rows


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


def scan_deadlines(session: Session, now: datetime, calendar: WorkingCalendar | None = None) -> ScanReport:
    """Raise warning / yellow / red cards that are due and resolve the ones that no longer apply."""
    calendar = calendar or load_calendar(session)
    dates = DueDates(calendar, now)
    resolved = resolve_alerts(session, now)
    refresh_paused_clocks(session, calendar, now)
    rows = _step_rows(session, dates) + case_alert_rows(session, dates) + _order_rows(session, now)
    inserted = insert_alerts(session, rows)
    announce_alerts(session, inserted, now)
    by_level: dict[str, int] = {}
    for row in inserted:
        by_level[row["level"]] = by_level.get(row["level"], 0) + 1
    session.flush()
    return ScanReport(raised=len(inserted), resolved=resolved, by_level=by_level)


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
