"""The process-wide engine, calendar and per-version caches the services share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from app.calendar import WorkingCalendar
from app.forms_schema import FormSchema, load_form_bytes, ui_name_for
from app.models import ProcessVersion
from app.workflow import SpecRef, WorkflowEngine

_SPEC_REFS: dict[str, SpecRef] = {}
_TZ = ZoneInfo("Asia/Shanghai")


def configure_timezone(name: str) -> None:
    """Set the local time zone used for working-day arithmetic (from GOVFLOW_TIMEZONE)."""
    global _TZ
    _TZ = ZoneInfo(name)
    working_calendar.cache_clear()


@cache
def working_calendar() -> WorkingCalendar:
    """The working-day calendar (official data + provisional years)."""
    return WorkingCalendar(tz=_TZ)


def _add_working_days(start: Any, n: Any) -> str:
    """BPMN helper: ISO date n working days after an ISO date (or date)."""
    day = start if isinstance(start, date) else date.fromisoformat(str(start)[:10])
    return working_calendar().add_working_days(day, int(n)).isoformat()


def _working_deadline(start: Any, n: Any) -> str:
    """BPMN helper: ISO datetime at the end of the n-th working day after `start` (for timeDate timers)."""
    from datetime import datetime

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
