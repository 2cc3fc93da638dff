"""A controllable clock for BPMN timers: timer definitions read `now` from a context variable, not the OS."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer

__all__ = [
    "CycleTimerEventDefinition",
    "DurationTimerEventDefinition",
    "TimeDateEventDefinition",
    "clock_at",
    "current_time",
    "due_at",
]

LOCAL_TZ = ZoneInfo(os.environ.get("GOVFLOW_TIMEZONE", "Asia/Shanghai"))
_NOW: ContextVar[datetime | None] = ContextVar("govflow_workflow_now", default=None)


def require_aware(value: datetime, what: str = "now") -> datetime:
    """Return `value` in UTC; refuse naive datetimes."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def current_time() -> datetime:
    """The engine's notion of now: the controlled clock if set, else the real UTC time."""
    value = _NOW.get()
    return value if value is not None else datetime.now(UTC)


@contextmanager
def clock_at(now: datetime) -> Iterator[None]:
    """Run timer evaluations as if the time were `now` (aware)."""
    token = _NOW.set(require_aware(now))
    try:
        yield
    finally:
        _NOW.reset(token)


def to_utc(value: Any) -> datetime:
    """A timer date (ISO string, datetime or date) as an aware UTC datetime; naive means local time."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            value = spiff_timer.TimerEventDefinition.parse_time_or_duration(text)
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, datetime.min.time())
    if not isinstance(value, datetime):
        raise ValueError(f"不是日期时间 (not a date/time): {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=LOCAL_TZ)
    result: datetime = value.astimezone(UTC)
    return result


def _duration_end(value: Any, start: datetime) -> datetime:
    if isinstance(value, timedelta):
        return start + value
    if not isinstance(value, str):
        raise ValueError(f"不是 ISO 8601 时长 (not an ISO 8601 duration): {value!r}")
    parsed = spiff_timer.TimerEventDefinition.parse_iso_duration(value.strip())
    delta: timedelta = spiff_timer.TimerEventDefinition.get_timedelta_from_start(parsed, start)
    return start + delta


@contextmanager
def _timer_errors(my_task: Any, expression: str) -> Iterator[None]:
    """Report a bad timer value as a task error naming the timer element."""
    try:
        yield
    except WorkflowTaskException:
        raise
    except Exception as err:
        text = f"定时器表达式错误 (timer expression error) '{expression}': {err}"
        raise WorkflowTaskException(text, task=my_task, exception=err) from err


def _fire_if_due(my_task: Any, due: datetime) -> bool:
    if due <= current_time():
        my_task._set_internal_data(event_fired=True)
    return bool(my_task._get_internal_data("event_fired", False))


class TimeDateEventDefinition(spiff_timer.TimeDateEventDefinition):  # type: ignore[misc]
    """A date timer whose due time is stored as aware UTC ISO text and compared with the controlled clock."""

    def has_fired(self, my_task: Any) -> bool:
        """Evaluate once (sandboxed), then fire when the clock reaches the due time."""
        value = my_task._get_internal_data("event_value")
        if value is None:
            with _timer_errors(my_task, self.expression):
                value = to_utc(my_task.workflow.script_engine.evaluate(my_task, self.expression)).isoformat()
            my_task._set_internal_data(event_value=value)
        return _fire_if_due(my_task, datetime.fromisoformat(value))


class DurationTimerEventDefinition(spiff_timer.DurationTimerEventDefinition):  # type: ignore[misc]
    """A duration timer counted from the controlled clock at the moment the task starts waiting."""

    def has_fired(self, my_task: Any) -> bool:
        """Evaluate once (sandboxed), then fire when the clock reaches start + duration."""
        value = my_task._get_internal_data("event_value")
        if value is None:
            with _timer_errors(my_task, self.expression):
                expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
                value = _duration_end(expression, current_time()).isoformat()
            my_task._set_internal_data(event_value=value)
        return _fire_if_due(my_task, datetime.fromisoformat(value))


def _recurring(expression: str) -> tuple[int, datetime, timedelta]:
    parts = expression.strip().upper().replace("--", "/").strip("R").split("/")
    if len(parts) == 2 and parts[1].startswith("P"):
        cycles = int(parts[0]) if parts[0] else -1
        start = current_time()
        end = _duration_end(parts[1], start)
        return cycles, end, end - start
    cycles, start, duration = spiff_timer.TimerEventDefinition.parse_iso_recurring_interval(expression)
    return int(cycles), to_utc(start), duration


class CycleTimerEventDefinition(spiff_timer.CycleTimerEventDefinition):  # type: ignore[misc]
    """A recurring timer driven by the controlled clock."""

    def cycle_complete(self, my_task: Any) -> bool:
        """Advance the cycle when its next due time has passed; mark fired when all cycles are done."""
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            with _timer_errors(my_task, self.expression):
                expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
                cycles, start, duration = _recurring(str(expression))
            event_value = {"cycles": cycles, "next": start.isoformat(), "duration": duration.total_seconds()}
        ready = False
        if event_value["cycles"] != 0:
            next_event = datetime.fromisoformat(event_value["next"])
            if next_event <= current_time():
                event_value["next"] = (next_event + timedelta(seconds=event_value["duration"])).isoformat()
                event_value["cycles"] -= 1
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
        my_task._set_internal_data(event_value=event_value)
        return ready


def due_at(my_task: Any) -> datetime | None:
    """When a waiting timer task will fire next (aware UTC), or None if it is not a pending timer."""
    definition = getattr(my_task.task_spec, "event_definition", None)
    inner = getattr(definition, "event_definitions", None) or [definition]  # event-based gateways
    if not any(isinstance(d, spiff_timer.TimerEventDefinition) for d in inner):
        return None
    value = my_task.internal_data.get("event_value")
    if value is None or my_task.internal_data.get("event_fired"):
        return None
    if isinstance(value, dict):
        return None if value.get("cycles") == 0 else to_utc(value["next"])
    return to_utc(value)
