"""The dry-run simulator drives a process through the engine facade to an end event or a located reason."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from app.workflow.simulate import simulate

FIXTURES = Path(__file__).parent / "lint_fixtures"
LEAVE = (FIXTURES / "leave.bpmn").read_text(encoding="utf-8")
FORMS = {"leave.schema.json": (FIXTURES / "leave.schema.json").read_bytes()}


class EveryDayCalendar:
    """A calendar where weekends are the only days off."""

    def add_working_days(self, d: date, n: int) -> date:
        while n > 0:
            d += timedelta(days=1)
            n -= d.weekday() < 5
        return d


def run(text: str = LEAVE, **kwargs: object):  # type: ignore[no-untyped-def]
    return simulate({"leave.bpmn": text.encode()}, FORMS, today=date(2026, 3, 6), **kwargs)  # type: ignore[arg-type]


def test_default_form_data_takes_the_approve_path_with_due_dates() -> None:
    report = run(calendar=EveryDayCalendar())
    assert report.ok and report.end_reached and report.reason is None
    assert [(s.bpmn_id, s.lane, s.action) for s in report.steps] == [
        ("apply", "clerk", "complete"),
        ("approve", "approver@market", "complete"),
    ]
    assert report.steps[0].due is None
    assert report.steps[1].due == date(2026, 3, 11)  # Friday + 3 working days


def test_decisions_override_defaults() -> None:
    report = run(decisions={"approve": {"approved": False}})
    assert report.ok and [s.bpmn_id for s in report.steps] == ["apply", "approve"]


def test_invalid_process_reports_first_located_error() -> None:
    report = run(LEAVE.replace(' default="f_no"', ""))
    assert not report.ok and report.reason is not None
    assert report.reason.element_id == "decide" and report.reason.line


def test_runtime_error_is_located() -> None:
    report = run(LEAVE.replace("approved == True", "missing_variable == 1"))
    assert not report.ok and not report.end_reached
    assert report.reason is not None and report.reason.severity == "error"
    assert report.reason.file == "leave.bpmn"


TIMER = LEAVE.replace(
    '<bpmn:sequenceFlow id="f3" sourceRef="approve" targetRef="decide" />',
    '<bpmn:sequenceFlow id="f3" sourceRef="approve" targetRef="decide" />'
    '<bpmn:boundaryEvent id="late" name="超期" attachedToRef="approve"><bpmn:timerEventDefinition>'
    '<bpmn:timeDuration>"P3D"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>'
    '<bpmn:sequenceFlow id="f_late" sourceRef="late" targetRef="refused" />',
)


def test_timeout_path_fires_the_timer_first() -> None:
    report = run(TIMER, timeout_path=True)
    assert report.ok and report.end_reached
    assert [s.action for s in report.steps] == ["complete", "timer"]
    assert report.steps[1].bpmn_id == "late"


def test_without_timeout_path_humans_act_first() -> None:
    report = run(TIMER)
    assert report.ok and [s.action for s in report.steps] == ["complete", "complete"]


def test_max_steps_stops_a_loop() -> None:
    looping = LEAVE.replace('targetRef="refused" />', 'targetRef="apply" />', 1)
    report = run(looping, decisions={"approve": {"approved": False}}, max_steps=7)
    assert not report.ok and report.reason is not None and "7" in report.reason.text
