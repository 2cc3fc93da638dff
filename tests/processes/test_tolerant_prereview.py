"""容缺预审 (tolerant_prereview) through the service layer: complete materials, 补正, 容缺 supplied in time,
容缺 insufficient then deadline missed, 容缺 deadline missed (case terminated), denial.

Scenario: 食品经营许可 at 市场监管局; the clock is Monday 2026-11-23 09:30.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from app.models import Case, HumanTask, User
from app.services.cases import open_tasks, start_case
from app.services.errors import InvalidInput
from app.services.timers import deliver_message, due_timer_case_ids, fire_case_timers
from tests.factories import create_user
from tests.processes.scenario import (
    candidates,
    complete,
    deploy,
    done_steps,
    due_date,
    only_task,
    open_ids,
    opinions,
)

ISSUED = {
    "licence_no": "JY13205050012345",
    "result_documents": ["食品经营许可证.pdf"],
    "delivery_method": "window",
    "delivered_on": "2026-11-27",
}
APPROVE = {"decision": "approve", "opinion": "符合食品经营许可条件"}
# 2026-11-27 is the promised date; the boundary is that day's end, 23:59:59 +08:00.
PROMISE = {
    "promised_items": ["从业人员健康证明"],
    "supplement_deadline": "2026-11-27",
    "signatory": "李娜",
    "agree": True,
}
DEADLINE = datetime.fromisoformat("2026-11-27T23:59:59+08:00")


@pytest.fixture
def people(session: Session, now: datetime) -> dict[str, User]:
    return {
        "applicant": create_user(session, now, roles=[("applicant", None)]),
        "clerk": create_user(session, now, roles=[("clerk", "approval")]),
        "approver": create_user(session, now, roles=[("approver", "market")]),
    }


def _start(session: Session, people: dict[str, User], now: datetime) -> Case:
    deploy(session, "tolerant_prereview", now)
    return start_case(session, "tolerant_prereview", {}, people["applicant"], now, title="食品经营许可")


def _tolerate(session: Session, case: Case, people: dict[str, User], now: datetime) -> None:
    prereview = only_task(session, case, "prereview_materials")
    complete(
        session,
        prereview,
        {"decision": "tolerated", "tolerated_items": ["从业人员健康证明"]},
        people["clerk"],
        now,
    )
    promise = only_task(session, case, "sign_promise")
    assert promise.assignee_id == people["applicant"].id
    complete(session, promise, PROMISE, people["applicant"], now)


def _task(session: Session, case: Case, bpmn_id: str) -> HumanTask:
    return next(t for t in open_tasks(session, case) if t.bpmn_id == bpmn_id)


def test_complete_materials_go_straight_to_approval(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _start(session, people, now)
    prereview = only_task(session, case, "prereview_materials")
    # 2 working days from Mon 11-23 → Wed 11-25
    assert (candidates(prereview), due_date(prereview)) == (("clerk", None), date(2026, 11, 25))
    complete(session, prereview, {"decision": "complete", "opinion": "材料齐全"}, people["clerk"], now)
    approve = only_task(session, case, "approve_application")
    # 10 working days → Mon 12-07
    assert (candidates(approve), due_date(approve)) == (("approver", None), date(2026, 12, 7))
    assert case.next_timer_at is None  # no 容缺: nothing waits for a supplement
    complete(session, approve, APPROVE, people["approver"], now)
    complete(session, only_task(session, case, "issue_licence"), ISSUED, people["clerk"], now)
    session.refresh(case)
    assert case.status == "completed"
    assert done_steps(session, case) == ["prereview_materials", "approve_application", "issue_licence"]
    assert [o[2] for o in opinions(session, case)] == ["complete", "approve"]


def test_critical_materials_missing_asks_for_supplement_with_the_clock_stopped(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _start(session, people, now)
    prereview = only_task(session, case, "prereview_materials")
    with pytest.raises(InvalidInput) as caught:
        complete(session, prereview, {"decision": "critical_missing"}, people["clerk"], now)
    assert "supplement_items" in (caught.value.details or {})
    notice = {"decision": "critical_missing", "supplement_items": ["经营场所平面图", "食品安全管理制度"]}
    complete(session, prereview, notice, people["clerk"], now)
    supplement = only_task(session, case, "supplement_materials")
    assert supplement.properties["pausesClock"] == "补正"
    assert supplement.assignee_id == people["applicant"].id and supplement.due_at is None
    complete(session, supplement, {"materials": ["平面图.pdf", "管理制度.pdf"]}, people["applicant"], now)
    assert open_ids(session, case) == ["prereview_materials"]


def test_tolerated_materials_supplied_in_time(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _start(session, people, now)
    _tolerate(session, case, people, now)
    # approval runs while the case waits for the supplement; the boundary is the promised day's end
    assert open_ids(session, case) == ["approve_application"]
    assert case.next_timer_at == DEADLINE
    complete(session, _task(session, case, "approve_application"), APPROVE, people["approver"], now)
    assert open_ids(session, case) == []  # approval done; the inclusive join waits for the supplement
    later = now + timedelta(days=2)
    deliver_message(session, case.number, "materials_supplemented", {"items": ["健康证明.pdf"]}, None, later)
    verify = only_task(session, case, "verify_supplements")
    assert case.next_timer_at is None
    # 1 working day from Wed 11-25 → Thu 11-26
    assert (candidates(verify), due_date(verify)) == (("clerk", None), date(2026, 11, 26))
    complete(session, verify, {"decision": "accepted"}, people["clerk"], later)
    complete(session, only_task(session, case, "issue_licence"), ISSUED, people["clerk"], later)
    session.refresh(case)
    assert case.status == "completed"


def test_insufficient_supplement_then_deadline_missed_terminates(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _start(session, people, now)
    _tolerate(session, case, people, now)
    deliver_message(session, case.number, "materials_supplemented", {"items": ["复印件.pdf"]}, None, now)
    verify = _task(session, case, "verify_supplements")
    with pytest.raises(InvalidInput) as caught:
        complete(session, verify, {"decision": "insufficient"}, people["clerk"], now)
    assert "opinion" in (caught.value.details or {})
    complete(session, verify, {"decision": "insufficient", "opinion": "健康证明已过期"}, people["clerk"], now)
    assert open_ids(session, case) == ["approve_application"]
    assert case.next_timer_at == DEADLINE  # waiting again for the same deadline
    assert fire_case_timers(session, case.id, DEADLINE + timedelta(seconds=1)) is True
    session.refresh(case)
    assert case.status == "terminated" and open_tasks(session, case) == []


def test_tolerated_deadline_missed_terminates_the_case(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _start(session, people, now)
    _tolerate(session, case, people, now)
    approve_id = _task(session, case, "approve_application").id
    assert fire_case_timers(session, case.id, DEADLINE - timedelta(minutes=1)) is False
    assert due_timer_case_ids(session, DEADLINE - timedelta(minutes=1)) == []
    after = datetime.fromisoformat("2026-11-28T08:00:00+08:00")
    assert case.id in due_timer_case_ids(session, after)
    assert fire_case_timers(session, case.id, after) is True
    session.refresh(case)
    assert case.status == "terminated" and case.closed_at == after
    assert open_tasks(session, case) == []
    assert session.get_one(HumanTask, approve_id).state == "cancelled"  # the terminate end cancels approval


def test_denial_ends_a_tolerated_case_and_its_wait(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _start(session, people, now)
    _tolerate(session, case, people, now)
    approve = _task(session, case, "approve_application")
    denial = {
        "decision": "deny",
        "opinion": "经营场所与申请不符",
        "deny_reasons": "经营场所不符合食品安全要求",
        "legal_basis": "《中华人民共和国食品安全法》第三十五条",
        "remedy_notice": "可依法申请行政复议或提起行政诉讼。",
    }
    complete(session, approve, denial, people["approver"], now)
    session.refresh(case)
    assert case.status == "terminated" and case.next_timer_at is None
    assert opinions(session, case)[-1][2] == "deny"
