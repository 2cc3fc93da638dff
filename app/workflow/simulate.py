"""Run a process definition in memory through the engine facade: the designer's "试运行" (dry run).

Each ready human task is completed with the caller's decision data for its BPMN id, else with the
default data of its form (and, for a task with `routeChoices`, `next_step` = its first choice);
timers fire when nothing else can move (at once with `timeout_path`); declared
messages are delivered when the case waits for nothing else. Stops at an end event, when stuck, or after
`max_steps`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from app.workflow.lint.model import BPMN_NS, NS, line_of
from app.workflow.messages import LintMessage, ProcessInvalid
from app.workflow.xmlsafe import parse_xml

__all__ = ["SimStep", "SimulationReport", "simulate"]

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
Where = tuple[str, int | None, str | None]


class Calendar(Protocol):
    """The part of app.calendar.WorkingCalendar the simulator uses."""

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day after d."""
        ...


@dataclass(frozen=True)
class SimStep:
    """One thing that happened: a human task completed, a timer fired or a message delivered."""

    bpmn_id: str
    name: str | None
    lane: str | None
    action: str
    due: date | None = None


@dataclass(frozen=True)
class SimulationReport:
    """The outcome of a dry run."""

    ok: bool
    steps: list[SimStep] = field(default_factory=list)
    end_reached: bool = False
    reason: LintMessage | None = None


@dataclass
class _Run:
    """Mutable state of one simulation."""

    engine: Any
    spec: Any
    forms: Mapping[str, bytes]
    decisions: Mapping[str, Mapping[str, Any]]
    calendar: Calendar | None
    now: datetime
    where: dict[str, Where]
    messages: list[str]
    steps: list[SimStep] = field(default_factory=list)


def _index(files: Mapping[str, bytes]) -> tuple[dict[str, Where], list[str]]:
    """Element id -> (file, line, name) and the declared message names caught by the process."""
    where: dict[str, Where] = {}
    caught: list[str] = []
    for name, data in files.items():
        try:
            root = parse_xml(data, name).getroot()
        except ProcessInvalid:
            continue
        for el in root.iter(f"{{{BPMN_NS}}}*"):
            if el.get("id"):
                where[el.get("id", "")] = (name, line_of(el), el.get("name"))
        names = {m.get("id"): m.get("name") or m.get("id") for m in root.iterfind("bpmn:message", NS)}
        refs = [d.get("messageRef") for d in root.iter(f"{{{BPMN_NS}}}messageEventDefinition")]
        refs += [t.get("messageRef") for t in root.iter(f"{{{BPMN_NS}}}receiveTask")]
        caught += [n for r in refs if r and (n := names.get(r)) and n not in caught]
    return where, caught


def _located(run: _Run, element_id: str | None, text: str, hint: str = "") -> LintMessage:
    """A reason located at an element when its id is known."""
    file, line, name = run.where.get(
        element_id or "", (next(iter({w[0] for w in run.where.values()}), "-"), 1, None)
    )
    return LintMessage(file, line, element_id if element_id in run.where else None, name, "error", text, hint)


def _default_data(form: str | None, forms: Mapping[str, bytes]) -> dict[str, Any]:
    """The default values of a task's form (empty when there is no form or no forms helper)."""
    if not form or form not in forms:
        return {}
    try:
        from app.forms_schema import load_form_bytes
    except ImportError:
        return {}
    data: dict[str, Any] = load_form_bytes(form, forms[form]).default_data()
    return data


def _due(run: _Run, properties: Mapping[str, str]) -> date | None:
    """Due date of a task with timeLimitWorkingDays when a calendar is given."""
    limit = properties.get("timeLimitWorkingDays", "").strip()
    if run.calendar is None or not limit.isdigit():
        return None
    return run.calendar.add_working_days(run.now.date(), int(limit))


def _route_default(properties: Mapping[str, str]) -> dict[str, Any]:
    """`next_step` = the first choice of a task with `routeChoices` (办理人选择下一步), else nothing."""
    from app.workflow.dialect_routes import ROUTE_FIELD, ROUTE_PROPERTY

    try:
        choices = json.loads(properties.get(ROUTE_PROPERTY, "[]"))
    except ValueError:
        return {}
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return {}
    return {ROUTE_FIELD: choices[0].get("value")}


def _complete(run: _Run, result: Any) -> Any:
    """Complete the first ready human task: form defaults, the first route choice, then the decisions."""
    task = result.ready[0]
    data = _default_data(task.form, run.forms) | _route_default(task.properties)
    data |= dict(run.decisions.get(task.bpmn_id, {}))
    lane = task.effective_lane or task.lane
    run.steps.append(SimStep(task.bpmn_id, task.name, lane, "complete", _due(run, task.properties)))
    return run.engine.complete(run.spec, result.state, task.task_id, data, run.now)


def _fire(run: _Run, result: Any) -> Any:
    """Move the clock to the next timer and fire it."""
    run.now = max(run.now, result.next_timer_at) + timedelta(seconds=1)
    after = run.engine.fire_timers(run.spec, result.state, run.now)
    fired = [s for s in after.completed_steps if s not in result.completed_steps]
    bpmn_id = fired[0] if fired else ""
    run.steps.append(SimStep(bpmn_id, run.where.get(bpmn_id, ("", None, None))[2], None, "timer"))
    return after


def _signature(result: Any) -> tuple[Any, ...]:
    """What a delivery must change to count as progress."""
    return (
        result.status,
        [t.task_id for t in result.ready],
        result.next_timer_at,
        len(result.completed_steps),
    )


def _deliver(run: _Run, result: Any) -> Any | None:
    """Deliver the first declared message that moves the case; None when none does."""
    from app.workflow.engine import MessageNotExpected

    for name in run.messages:
        try:
            after = run.engine.deliver_message(run.spec, result.state, name, {}, run.now)
        except MessageNotExpected:
            continue
        if _signature(after) != _signature(result):
            run.steps.append(SimStep("", name, None, f"message:{name}"))
            return after
    return None


def _advance(run: _Run, result: Any, timeout_path: bool) -> Any | None:
    """One move: timer first on the timeout path, else human task, timer, message; None when stuck."""
    if timeout_path and result.next_timer_at is not None:
        return _fire(run, result)
    if result.ready:
        return _complete(run, result)
    if result.next_timer_at is not None:
        return _fire(run, result)
    return _deliver(run, result)


def _finish(run: _Run, result: Any) -> SimulationReport:
    """A report for a case that stopped moving."""
    if result.status in ("completed", "terminated"):
        return SimulationReport(True, run.steps, True, None)
    last = result.completed_steps[-1] if result.completed_steps else None
    if result.status == "error":
        culprit = next((i for i in run.where if result.error and i in result.error), last)
        return SimulationReport(
            False, run.steps, False, _located(run, culprit, f"运行出错 (error): {result.error}")
        )
    text = "流程停住，没有可办理的任务、定时器或消息 (stuck: nothing can move)"
    hint = "检查网关条件和消息/信号事件 (check gateway conditions and message or signal events)"
    return SimulationReport(False, run.steps, False, _located(run, last, text, hint))


def simulate(
    files: Mapping[str, bytes],
    forms: Mapping[str, bytes],
    data: Mapping[str, Any] | None = None,
    decisions: Mapping[str, Mapping[str, Any]] | None = None,
    timeout_path: bool = False,
    today: date | None = None,
    calendar: Calendar | None = None,
    max_steps: int = 500,
) -> SimulationReport:
    """Compile and run a process definition in memory; see the module docstring."""
    from app.workflow.compiler import compile_process
    from app.workflow.engine import WorkflowEngine
    from app.workflow.types import SpecRef

    try:
        compiled = compile_process(files, forms)
    except ProcessInvalid as exc:
        first = exc.errors[0] if exc.errors else None
        return SimulationReport(False, [], False, first)
    except Exception as exc:  # an engine bug must show as a reason, never as a traceback in the designer
        return SimulationReport(False, [], False, _internal(files, exc))
    where, messages = _index(files)
    start = datetime.combine(today or date.today(), time(9, 0), LOCAL_TZ)
    spec = SpecRef(compiled.content_hash, compiled.spec_json)
    run = _Run(WorkflowEngine(), spec, forms, decisions or {}, calendar, start, where, messages)
    try:
        return _drive(run, run.engine.start(spec, dict(data or {}), run.now), timeout_path, max_steps)
    except Exception as exc:  # same: report engine failures
        return SimulationReport(False, run.steps, False, _internal(files, exc))


def _internal(files: Mapping[str, bytes], exc: Exception) -> LintMessage:
    """A file-level reason for an unexpected engine failure."""
    text = f"引擎内部错误 (internal engine error: {type(exc).__name__}: {exc})"
    return LintMessage(next(iter(files), "-"), None, None, None, "error", text, "请把该文件报告给开发人员")


def _drive(run: _Run, result: Any, timeout_path: bool, max_steps: int) -> SimulationReport:
    """Advance until the case ends, sticks or exceeds max_steps."""
    for _ in range(max_steps):
        if result.status != "open":
            break
        moved = _advance(run, result, timeout_path)
        if moved is None:
            break
        result = moved
    else:
        reason = _located(run, None, f"超过 {max_steps} 步仍未结束 (no end after {max_steps} steps: a loop?)")
        return SimulationReport(False, run.steps, False, reason)
    return _finish(run, result)
