"""Administrator overrides of the working-day calendar (local holidays, emergency working days)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import CalendarOverride, User
from app.services.audit import record_event
from app.services.errors import InvalidInput, NotFound, PermissionDenied
from app.services.runtime import invalidate_calendar

FIRST_YEAR, LAST_YEAR = 2000, 2099
MAX_NAME_LENGTH = 120


def _require_admin(actor: User | None) -> None:
    if actor is not None and not actor.has_role("admin"):
        raise PermissionDenied("只有系统管理员可以调整工作日历 (administrators only)")


def _checked_day(day: object) -> tuple[date | None, str | None]:
    """(the date, None) or (None, the Chinese field error)."""
    if isinstance(day, datetime) or not isinstance(day, date):
        try:
            day = date.fromisoformat(str(day or "").strip())
        except ValueError:
            return None, "请输入有效日期，如 2026-05-06"
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        return None, f"日期须在 {FIRST_YEAR}–{LAST_YEAR} 年之间"
    return day, None


def add_override(
    session: Session, day: date | str, is_working: bool, name: str, actor: User | None, now: datetime
) -> CalendarOverride:
    """Declare `day` a working day or a day off, with a name (e.g. "防汛应急上班")."""
    _require_admin(actor)
    checked, day_error = _checked_day(day)
    errors = {"day": day_error} if day_error else {}
    label = (name or "").strip()
    if not label:
        errors["name"] = "请填写名称（如：防汛应急上班）"
    elif len(label) > MAX_NAME_LENGTH:
        errors["name"] = f"名称不能超过 {MAX_NAME_LENGTH} 个字符"
    if checked is not None and session.scalar(
        select(CalendarOverride.id).where(CalendarOverride.day == checked)
    ):
        errors["day"] = "该日期已有本地调整，请先删除原调整"
    if errors or checked is None:
        raise InvalidInput("工作日调整填写有误", errors)
    override = CalendarOverride(
        day=checked, is_working=bool(is_working), name=label, created_by_id=actor.id if actor else None
    )
    override.created_at = now
    session.add(override)
    session.flush()
    detail = {"day": checked.isoformat(), "is_working": bool(is_working), "name": label}
    record_event(session, None, actor, "calendar.override_added", detail, now)
    invalidate_calendar()
    return override


def remove_override(session: Session, override_id: int, actor: User | None, now: datetime) -> None:
    """Delete one override; the official arrangement applies again to that day."""
    _require_admin(actor)
    override = session.get(CalendarOverride, override_id)
    if override is None:
        raise NotFound("该日历调整不存在 (no such override)")
    detail = {"day": override.day.isoformat(), "is_working": override.is_working, "name": override.name}
    session.delete(override)
    session.flush()
    record_event(session, None, actor, "calendar.override_removed", detail, now)
    invalidate_calendar()


def list_overrides(session: Session, year: int | None = None) -> list[CalendarOverride]:
    """The overrides (of one year, if given), by date."""
    query = select(CalendarOverride).order_by(CalendarOverride.day)
    if year is not None:
        query = query.where(CalendarOverride.day.between(date(year, 1, 1), date(year, 12, 31)))
    return list(session.scalars(query))
