"""The process-wide engine, calendar and per-version caches the services share."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.calendar import WorkingCalendar
from app.forms_schema import FormSchema, load_form_bytes, ui_name_for
from app.models import CalendarOverride, ProcessVersion
from app.workflow import SpecRef, WorkflowEngine

_SPEC_REFS: dict[str, SpecRef] = {}
_TZ = ZoneInfo("Asia/Shanghai")


def configure_timezone(name: str) -> None:
    """Set the local time zone used for working-day arithmetic (from GOVFLOW_TIMEZONE)."""
    global _TZ
    _TZ = ZoneInfo(name)
    _plain_calendar.cache_clear()
    invalidate_calendar()


# The calendar rule (see docs/architecture.md "Working-day calendar and overrides"):
# - code holding a session calls `load_calendar(session)`: official data + the overrides committed (or
#   flushed in this transaction) in `calendar_override`, read with one small query, never stale;
# - `working_calendar()` (code without a session) returns the calendar last loaded in this process, or the
#   official-only calendar before the first load / after `invalidate_calendar()`;
# - `add_override` / `remove_override` call `invalidate_calendar()`; web requests refresh the process-wide
#   calendar at most every CALENDAR_MAX_AGE seconds (`refresh_calendar`), scheduler jobs on every run.
CALENDAR_MAX_AGE = 60.0
OverrideRow = tuple[date, bool, str]
_LOCK = threading.Lock()
_LOADED: tuple[tuple[OverrideRow, ...], WorkingCalendar] | None = None
_LOADED_AT = 0.0


@cache
def _plain_calendar() -> WorkingCalendar:
    return WorkingCalendar(tz=_TZ)


def working_calendar() -> WorkingCalendar:
    """The process-wide calendar: the one last loaded with DB overrides, else official data only."""
    loaded = _LOADED
    return loaded[1] if loaded is not None else _plain_calendar()


def load_calendar(session: Session) -> WorkingCalendar:
    """The calendar with the overrides of the `calendar_override` table (reused while they are unchanged)."""
    global _LOADED, _LOADED_AT
    query = select(CalendarOverride.day, CalendarOverride.is_working, CalendarOverride.name)
    rows = tuple((r.day, r.is_working, r.name) for r in session.execute(query.order_by(CalendarOverride.day)))
    with _LOCK:
        loaded = _LOADED
        if loaded is not None and loaded[0] == rows and loaded[1].tz == _TZ:
            calendar = loaded[1]
        elif not rows:
            calendar = _plain_calendar()
        else:
            overrides = {day: working for day, working, _ in rows}
            calendar = WorkingCalendar(overrides, tz=_TZ, override_names={d: n for d, _, n in rows})
        _LOADED, _LOADED_AT = (rows, calendar), time.monotonic()
    return calendar


def refresh_calendar(session: Session, max_age: float = CALENDAR_MAX_AGE) -> WorkingCalendar:
    """`load_calendar` unless the process-wide calendar was loaded less than `max_age` seconds ago."""
    if _LOADED is not None and time.monotonic() - _LOADED_AT < max_age:
        return _LOADED[1]
    return load_calendar(session)


def invalidate_calendar() -> None:
    """Forget the loaded overrides: `working_calendar()` is official-only until the next load."""
    global _LOADED
    with _LOCK:
        _LOADED = None


def local_minutes(moment: datetime) -> str:
    """A moment as people read it in notices and explanations: local time to the minute, 2026-11-22 15:50."""
    return moment.astimezone(working_calendar().tz).strftime("%Y-%m-%d %H:%M")


def local_day(moment: datetime) -> str:
    """The local date of a moment (2026-11-22) — for due dates, which end at 23:59:59 of their day."""
    return working_calendar().local_date(moment).isoformat()


def _add_working_days(start: Any, n: Any) -> str:
    """BPMN helper: ISO date n working days after an ISO date (or date)."""
    day = start if isinstance(start, date) else date.fromisoformat(str(start)[:10])
    return working_calendar().add_working_days(day, int(n)).isoformat()


def _working_deadline(start: Any, n: Any) -> str:
    """BPMN helper: ISO datetime at the end of the n-th working day after `start` (for timeDate timers)."""
    moment = datetime.fromisoformat(str(start))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_TZ)
    return working_calendar().due_at(moment, int(n)).isoformat()


HELPERS: dict[str, Callable[..., Any]] = {
    "add_working_days": _add_working_days,
    "working_deadline": _working_deadline,
}


@cache
def workflow_engine() -> WorkflowEngine:
    """The shared engine with govflow's safe helpers."""
    return WorkflowEngine(helpers=HELPERS)


def spec_ref(version: ProcessVersion) -> SpecRef:
    """The engine handle of a version; versions are immutable, so it is cached by content hash."""
    ref = _SPEC_REFS.get(version.content_hash)
    if ref is None:  # only now is the (deferred) spec column read
        ref = SpecRef(key=version.content_hash, spec_json=version.spec_json)
        _SPEC_REFS[version.content_hash] = ref
    return ref


_FORMS: dict[tuple[str, str], FormSchema | None] = {}


def version_form(version: ProcessVersion, name: str) -> FormSchema | None:
    """The form `name` as deployed with this version (pinned with the case, not read from forms/)."""
    key = (version.content_hash, name)
    if key not in _FORMS:  # only on a miss is the (deferred) source column read
        text = version.source_files.get(f"forms/{name}")
        ui_text = version.source_files.get(f"forms/{ui_name_for(name)}")
        form = (
            None
            if text is None
            else load_form_bytes(name, text.encode(), ui_text.encode() if ui_text else None)
        )
        _FORMS[key] = form
    return _FORMS[key]
