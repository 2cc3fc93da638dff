"""Case clocks (法定 / 承诺时限): due dates from the item, stopped clocks (§45, 补正) and extensions (延期).

A case's clock starts when the case is created and counts working days (`WorkingCalendar`). The due
columns on `case_record` hold the *effective* due instants: the item's limit plus approved extensions plus
the working days covered by pauses that have ended. While a pause is running the clock is stopped and the
case gets no case-level card; when it ends the due dates move (`compute_case_clocks`).
Due dates end at 23:59:59 local time (GOVFLOW_TIMEZONE) of the last working day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.calendar import Pause, WorkingCalendar
from app.models import Case, CaseExtension, ClockPause, HumanTask, ServiceItem, User
from app.services.audit import record_event
from app.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from app.services.events import emit_clock_event
from app.services.runtime import load_calendar

SUPPLEMENT = "补正"
SPECIAL_REASONS = ("听证", "检验", "检测", "检疫", "专家评审", "公示", "现场核查")
STAFF_ROLES = frozenset({"clerk", "approver", "dept_head", "leader"})
EXTENSION_APPROVERS = ("dept_head", "leader")
MAX_EXTENSION_DAYS = 10  # 行政许可法 §42: +10 working days with approval
MAX_JOINT_EXTENSION_DAYS = 15  # joint / parallel processing: +15


@dataclass(frozen=True)
class PauseInfo:
    """One stopped-clock interval: a 补正 wait (from a task) or a §45 special step (a ClockPause row)."""

    reason: str
    started_at: datetime
    ended_at: datetime | None
    note: str = ""
    pause_id: int | None = None
    human_task_id: int | None = None


@dataclass(frozen=True)
class ExtensionInfo:
    """One 延期 request and whether it was approved."""

    extension_id: int
    working_days: int
    reason: str
    requested_at: datetime
    approved_at: datetime | None


@dataclass(frozen=True)
class ClockStatus:
    """Where a case's clock stands at `now` (limits and used days are working days)."""

    statutory_due: datetime | None
    promised_due: datetime | None
    used_working_days: int
    limit: int | None
    remaining: int | None
    paused: bool
    pauses: list[PauseInfo]
    extensions: list[ExtensionInfo]
    statutory_limit: int | None = None


def pauses_for(session: Session, case_ids: Sequence[int]) -> dict[int, list[PauseInfo]]:
    """Pauses of many cases at once: tasks with property `pausesClock` plus ClockPause rows."""
    found: dict[int, list[PauseInfo]] = defaultdict(list)
    if not case_ids:
        return found
    tasks = select(
        HumanTask.id, HumanTask.case_id, HumanTask.properties, HumanTask.created_at, HumanTask.completed_at
    ).where(HumanTask.case_id.in_(case_ids), HumanTask.properties["pausesClock"].as_string().is_not(None))
    for row in session.execute(tasks):
        reason = str(row.properties.get("pausesClock") or "")
        if reason:
            found[row.case_id].append(PauseInfo(reason, row.created_at, row.completed_at, "", None, row.id))
    for pause in session.scalars(select(ClockPause).where(ClockPause.case_id.in_(case_ids))):
        found[pause.case_id].append(
            PauseInfo(
                pause.reason, pause.started_at, pause.ended_at, pause.note, pause.id, pause.human_task_id
            )
        )
    for pauses in found.values():
        pauses.sort(key=lambda p: p.started_at)
    return found


def approved_extension_days(session: Session, case_ids: Sequence[int]) -> dict[int, int]:
    """Sum of approved extension days per case."""
    if not case_ids:
        return {}
    query = (
        select(CaseExtension.case_id, func.sum(CaseExtension.working_days))
        .where(CaseExtension.case_id.in_(case_ids), CaseExtension.approved_at.is_not(None))
        .group_by(CaseExtension.case_id)
    )
    return {case_id: int(days or 0) for case_id, days in session.execute(query)}


def _intervals(pauses: Iterable[PauseInfo]) -> list[Pause]:
    return [(p.started_at, p.ended_at) for p in pauses]


def paused_working_days(
    calendar: WorkingCalendar, start: datetime, end: datetime, pauses: Iterable[PauseInfo]
) -> int:
    """Working days in (start, end] that pauses cover entirely."""
    intervals = _intervals(pauses)
    if not intervals:
        return 0
    return calendar.elapsed_working_days(start, end) - calendar.elapsed_working_days(start, end, intervals)


def effective_dues(
    calendar: WorkingCalendar,
    case: Case,
    item: ServiceItem,
    pauses: Sequence[PauseInfo],
    extension_days: int,
    now: datetime,
) -> tuple[datetime, datetime]:
    """(statutory, promised) due instants: limit + extensions + working days of the pauses that ended."""
    ended = [p for p in pauses if p.ended_at is not None]
    last_end = max((p.ended_at for p in ended if p.ended_at is not None), default=case.created_at)
    # measure up to the midnight after the last pause ended, so its last (partly worked) day is not lost
    until = datetime.combine(calendar.local_date(last_end) + timedelta(days=1), time(0), tzinfo=calendar.tz)
    shift = paused_working_days(calendar, case.created_at, max(until, case.created_at), ended)
    extra = extension_days + shift
    statutory = calendar.due_at(case.created_at, item.statutory_limit_days + extra)
    promised = calendar.due_at(case.created_at, item.promised_limit_days + extra)
    return statutory, promised


def compute_case_clocks(
    session: Session, case: Case, now: datetime, calendar: WorkingCalendar | None = None
) -> tuple[datetime | None, datetime | None]:
    """Set the case's statutory and promised due dates from its item (no item: left unchanged)."""
    item = case.service_item
    if item is None:
        return case.statutory_due_at, case.promised_due_at
    calendar = calendar or load_calendar(session)
    pauses = pauses_for(session, [case.id]).get(case.id, [])
    extension = approved_extension_days(session, [case.id]).get(case.id, 0)
    statutory, promised = effective_dues(calendar, case, item, pauses, extension, now)
    if (case.statutory_due_at, case.promised_due_at) != (statutory, promised):
        # a plain UPDATE: clocks are not flow state and must not bump the case's optimistic version
        session.execute(
            update(Case)
            .where(Case.id == case.id)
            .values(statutory_due_at=statutory, promised_due_at=promised)
            .execution_options(synchronize_session=False)
        )
        session.expire(case, ["statutory_due_at", "promised_due_at"])
    return statutory, promised


def case_clock(
    session: Session, case: Case, now: datetime, calendar: WorkingCalendar | None = None
) -> ClockStatus:
    """The case's clock at `now`: due dates, working days used (pauses excluded), remaining, pauses."""
    calendar = calendar or load_calendar(session)
    pauses = pauses_for(session, [case.id]).get(case.id, [])
    extensions = [
        ExtensionInfo(e.id, e.working_days, e.reason, e.requested_at, e.approved_at)
        for e in session.scalars(
            select(CaseExtension).where(CaseExtension.case_id == case.id).order_by(CaseExtension.id)
        )
    ]
    end = case.closed_at or now
    used = calendar.elapsed_working_days(case.created_at, end, _intervals(pauses))
    item = case.service_item
    extra = sum(e.working_days for e in extensions if e.approved_at is not None)
    limit = item.promised_limit_days + extra if item is not None else None
    statutory_limit = item.statutory_limit_days + extra if item is not None else None
    return ClockStatus(
        statutory_due=case.statutory_due_at,
        promised_due=case.promised_due_at,
        used_working_days=used,
        limit=limit,
        remaining=None if limit is None else limit - used,
        paused=case.closed_at is None and any(p.ended_at is None and p.started_at <= now for p in pauses),
        pauses=pauses,
        extensions=extensions,
        statutory_limit=statutory_limit,
    )


def _require_staff(actor: User) -> None:
    if not actor.role_codes() & STAFF_ROLES:
        raise PermissionDenied("只有办件工作人员可以操作计时 (staff only)")


def _require_open(case: Case) -> None:
    if case.status != "open":
        raise Conflict("办件已结束，不能再调整时限 (the case is not open)", {"case": case.number})


def _special_step(item: ServiceItem | None, reason: str) -> dict[str, object] | None:
    """The item's §45 special step (counts = false) matching `reason`, e.g. "批前公示" for 公示."""
    for step in item.special_steps if item is not None else []:
        if not step.get("counts", True) and reason in str(step.get("name", "")):
            return step
    return None


def start_pause(
    session: Session, case: Case, reason: str, note: str, actor: User, now: datetime
) -> ClockPause:
    """Stop the clock for a §45 special step the item lists as not counting (听证、检验、专家评审、公示…)."""
    _require_staff(actor)
    _require_open(case)
    if reason not in SPECIAL_REASONS:
        raise InvalidInput("暂停计时的事由无效", {"reason": f"事由须为：{'、'.join(SPECIAL_REASONS)}"})
    step = _special_step(case.service_item, reason)
    if step is None:
        message = f"本事项未列明不计入办理时限的特别程序「{reason}」"
        raise InvalidInput("该事由不能暂停计时", {"reason": message})
    running = select(ClockPause.id).where(ClockPause.case_id == case.id, ClockPause.ended_at.is_(None))
    if session.scalar(running) is not None:
        raise Conflict("该办件已在暂停计时中 (a pause is already running)", {"case": case.number})
    pause = ClockPause(
        case_id=case.id, reason=reason, note=(note or "").strip(), started_at=now, created_by_id=actor.id
    )
    session.add(pause)
    session.flush()
    detail = {"reason": reason, "step": step.get("name"), "note": pause.note, "pause": pause.id}
    record_event(session, case, actor, "clock.paused", detail, now)
    emit_clock_event(session, pause, now, actor.id)
    return pause


def end_pause(session: Session, pause_id: int, actor: User, now: datetime) -> ClockPause:
    """Restart the clock; the due dates move by the working days the pause covered."""
    _require_staff(actor)
    pause = session.get(ClockPause, pause_id)
    if pause is None:
        raise NotFound("暂停记录不存在 (no such pause)")
    if pause.ended_at is not None:
        raise Conflict("该暂停已结束 (the pause already ended)")
    case = session.get_one(Case, pause.case_id)
    pause.ended_at = max(now, pause.started_at)
    session.flush()
    compute_case_clocks(session, case, now)
    record_event(session, case, actor, "clock.resumed", {"reason": pause.reason, "pause": pause.id}, now)
    emit_clock_event(session, pause, now, actor.id)
    return pause


def _extension_cap(item: ServiceItem | None) -> int:
    joint = item is not None and item.mode == "parallel"
    return MAX_JOINT_EXTENSION_DAYS if joint else MAX_EXTENSION_DAYS


def request_extension(
    session: Session, case: Case, working_days: int, reason: str, actor: User, now: datetime
) -> CaseExtension:
    """Ask for 延期 (N more working days); the reason is told to the applicant once approved."""
    _require_staff(actor)
    _require_open(case)
    errors: dict[str, str] = {}
    cap = _extension_cap(case.service_item)
    granted = approved_extension_days(session, [case.id]).get(case.id, 0)
    if not isinstance(working_days, int) or working_days < 1:
        errors["working_days"] = "延期天数须为正整数（工作日）"
    elif granted + working_days > cap:
        errors["working_days"] = f"延期合计不能超过 {cap} 个工作日（已批准 {granted} 个）"
    text = (reason or "").strip()
    if not text:
        errors["reason"] = "请填写延期理由（将告知申请人）"
    if errors:
        raise InvalidInput("延期申请填写有误", errors)
    extension = CaseExtension(
        case_id=case.id, working_days=working_days, reason=text, requested_by_id=actor.id, requested_at=now
    )
    session.add(extension)
    session.flush()
    detail = {"extension": extension.id, "working_days": working_days, "reason": text}
    record_event(session, case, actor, "clock.extension_requested", detail, now)
    return extension


def _may_approve_extension(actor: User, case: Case) -> bool:
    item = case.service_item
    department = item.department.code if item is not None else None
    return actor.has_role("leader") or actor.has_role("dept_head", department)


def approve_extension(session: Session, extension_id: int, actor: User, now: datetime) -> CaseExtension:
    """Approve 延期 (部门负责人 of the item's department or 分管领导): the dues move by N working days."""
    extension = session.get(CaseExtension, extension_id)
    if extension is None:
        raise NotFound("延期申请不存在 (no such extension)")
    case = session.get_one(Case, extension.case_id)
    if not _may_approve_extension(actor, case):
        raise PermissionDenied("延期须由部门负责人或分管领导批准 (dept_head or leader only)")
    if extension.requested_by_id == actor.id:
        raise PermissionDenied("不能批准自己提出的延期申请 (no self-approval)")
    if extension.approved_at is not None:
        raise Conflict("该延期申请已批准 (already approved)")
    _require_open(case)
    extension.approved_by_id, extension.approved_at = actor.id, now
    session.flush()
    if case.service_item is not None:
        compute_case_clocks(session, case, now)
    else:
        _shift_dues(session, case, extension.working_days)
    detail = {"extension": extension.id, "working_days": extension.working_days, "reason": extension.reason}
    record_event(session, case, actor, "clock.extension_approved", detail, now)
    return extension


def _shift_dues(session: Session, case: Case, working_days: int) -> None:
    """Cases without an item: move the existing due dates by `working_days`."""
    calendar = load_calendar(session)
    moved = {
        name: calendar.due_at(value, working_days)
        for name, value in (
            ("statutory_due_at", case.statutory_due_at),
            ("promised_due_at", case.promised_due_at),
        )
        if value is not None
    }
    if moved:
        session.execute(update(Case).where(Case.id == case.id).values(**moved))
        session.expire(case, list(moved))
