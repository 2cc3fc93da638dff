"""Scenario tests for the engine facade; every human task is completed from a saved-and-restored state."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from app.workflow import MessageNotExpected, WorkflowEngine
from tests.workflow.engine_kit import T0, Case, spec_for

REVIEWS = ["review_env", "review_fire", "review_market", "review_tax"]


def _approval(data: dict[str, object] | None = None) -> Case:
    case = Case(WorkflowEngine(), spec_for("approval", "site_check"))
    case.start({"depts": ["tax", "market", ""], "remind_after": "P2D", **(data or {})})
    return case


def test_parallel_gateway_path() -> None:
    case = Case(WorkflowEngine(), spec_for("parallel6"))
    started = case.start({"applicant": "张三"})
    assert started.status == "open" and case.ready_ids() == ["intake"]
    (intake,) = started.ready
    assert (intake.lane, intake.effective_lane, intake.form, intake.ui_form) == (
        "clerk",
        "clerk",
        "intake.schema.json",
        "intake.uischema.json",
    )
    assert intake.instructions == "核对材料" and intake.properties == {"timeLimitWorkingDays": "1"}
    assert case.complete("intake", {"accepted": True}).completed_steps == ("intake", "split")
    assert case.ready_ids() == REVIEWS
    for review in REVIEWS:
        case.complete(review, {review: "同意"})
    assert case.ready_ids() == ["decision"]
    (decision,) = case.result.ready if case.result else ()
    assert decision.properties["returnTargets"] == "intake"
    assert decision.data["review_tax"] == "同意" and decision.data["applicant"] == "张三"
    done = case.complete("decision", {"result": "同意"})
    assert done.status == "completed" and done.ready == () and done.next_timer_at is None
    assert done.data["result"] == "同意" and done.completed_steps == ("decision", "end")


def _to_issue(case: Case) -> None:
    case.complete("intake")
    reviews = case.result.ready if case.result else ()
    assert [(t.effective_lane, t.multi_instance_index) for t in reviews] == [
        ("approver@tax", 0),
        ("approver@market", 1),
    ]
    assert {t.lane for t in reviews} == {"approver@{dept}"}
    case.complete("dept_review", {"opinion": "同意"})
    case.complete("dept_review", {"opinion": "同意"})
    (visit,) = case.ready("site_visit")
    assert visit.lane is None and visit.effective_lane == "inspector"  # called process: caller's lane
    case.complete("site_visit", {"passed": True})
    assert case.ready_ids() == ["issue"]


def test_countersign_call_activity_and_non_interrupting_timer() -> None:
    case = _approval()
    _to_issue(case)
    assert case.result is not None and case.result.next_timer_at == T0 + timedelta(days=2)
    assert case.result.next_timer_at.tzinfo is not None
    reminded = case.fire(T0 + timedelta(days=2))
    assert reminded.completed_steps == ("issue_remind", "remind", "end_reminded")
    assert case.ready_ids() == ["issue"]  # non-interrupting: the task stays
    assert reminded.next_timer_at == T0 + timedelta(days=5)
    done = case.complete("issue", {"comment": "准予许可"})
    assert done.status == "completed" and done.data["reminded"] is True
    assert done.data["opinions"] == ["同意", "同意"] and done.data["issued_by"] == "leader"


def test_interrupting_timer_fires_exactly_when_due() -> None:
    case = _approval()
    _to_issue(case)
    case.fire(T0 + timedelta(days=2))
    early = case.fire(T0 + timedelta(days=5) - timedelta(seconds=1))
    assert early.completed_steps == () and case.ready_ids() == ["issue"]
    due = case.fire((T0 + timedelta(days=5)).astimezone(UTC))
    assert "issue_overdue" in due.completed_steps
    assert case.ready_ids() == ["escalate"] and due.next_timer_at is None
    assert case.complete("escalate").status == "completed"


def test_exclusive_gateway_rejects_on_any_objection() -> None:
    case = _approval()
    case.complete("intake")
    case.complete("dept_review", {"opinion": "同意"})
    done = case.complete("dept_review", {"opinion": "不同意"})
    assert done.status == "completed" and "end_rejected" in done.completed_steps


def test_error_boundary_on_call_activity() -> None:
    case = _approval()
    case.complete("intake")
    case.complete("dept_review", {"opinion": "同意"})
    case.complete("dept_review", {"opinion": "同意"})
    failed = case.complete("site_visit", {"passed": False})
    assert "inspect_failed" in failed.completed_steps
    (rectify,) = failed.ready
    assert (rectify.bpmn_id, rectify.effective_lane) == ("rectify", "applicant")
    assert case.complete("rectify").status == "completed"


def _tolerant() -> Case:
    case = Case(WorkflowEngine(), spec_for("tolerant"))
    case.start({"case_no": "A-1", "missing": ["营业执照"], "deadline": "2026-05-11T17:00:00+08:00"})
    return case


def test_message_throw_and_catch() -> None:
    case = _tolerant()
    waiting = case.complete("prereview")
    assert [(e.name, e.payload) for e in waiting.events] == [
        ("supplement_requested", {"case_no": "A-1", "missing": ["营业执照"]})
    ]
    assert waiting.ready == () and waiting.next_timer_at == T0.replace(day=11, hour=17)
    caught = case.message("materials_supplemented", {"files": ["licence.pdf"]})
    assert caught.events == () and caught.next_timer_at is None
    (review,) = caught.ready
    assert review.data["supplement"] == {"files": ["licence.pdf"]}
    assert case.complete("review").status == "completed"


def test_timer_wins_the_race_and_terminates() -> None:
    case = _tolerant()
    case.complete("prereview")
    assert case.fire(T0 + timedelta(days=5)).status == "open"
    ended = case.fire(T0.replace(day=11, hour=17))
    assert ended.status == "terminated" and ended.data["expired"] is True
    assert ended.events == ()  # the terminate event is not an outbound message
    with pytest.raises(MessageNotExpected):
        case.message("materials_supplemented", {})


def test_timer_expression_error_keeps_the_case() -> None:
    case = _approval({"remind_after": "in two days"})
    case.complete("intake")
    case.complete("dept_review", {"opinion": "同意"})
    case.complete("dept_review", {"opinion": "同意"})
    before = case.state
    (visit,) = case.ready("site_visit")
    result = case.engine.complete(case.spec, before, visit.task_id, {"passed": True}, T0)
    assert result.status == "error" and result.error is not None
    assert result.error.startswith("issue_remind: ")
    assert result.state == before and [t.bpmn_id for t in result.ready] == ["site_visit"]
