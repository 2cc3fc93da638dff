"""告知承诺 (commitment_approval) through the service layer: decline, commitment verified true, verified
false (revocation), and verification overdue (non-interrupting timer → outbound event to supervision).

Scenario: 公共场所卫生许可; the clock is Monday 2026-11-23 09:30.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from app.models import Case, OutboxEvent, User
from app.services.cases import open_tasks, start_case
from app.services.errors import InvalidInput
from app.services.timers import fire_case_timers
from tests.factories import create_user
from tests.processes.scenario import (
    candidates,
    complete,
    deploy,
    done_steps,
    due_date,
    only_task,
    opinions,
    outbox_kinds,
    ready_data,
)

SIGNED = {"decision": "commit", "read_notice": True, "signatory": "王芳", "signed_on": "2026-11-23"}
# verification within 20 working days is typical; here the deadline is Fri 2026-12-18, end of day
APPROVED = {
    "licence_no": "卫公证字〔2026〕第0123号",
    "verification_method": "实地",
    "verification_deadline": "2026-12-18",
}
DEADLINE = datetime.fromisoformat("2026-12-18T23:59:59+08:00")
CONSISTENT = {
    "verification_method": "实地",
    "verification_result": "consistent",
    "findings": "经营场所、卫生设施与承诺一致",
    "verified_on": "2026-12-10",
    "opinion": "承诺属实",
}


@pytest.fixture
def people(session: Session, now: datetime) -> dict[str, User]:
    return {
        "applicant": create_user(session, now, roles=[("applicant", None)]),
        "clerk": create_user(session, now, roles=[("clerk", "approval")]),
        "inspector": create_user(session, now, roles=[("inspector", "market")]),
    }


def _approved(session: Session, people: dict[str, User], now: datetime) -> Case:
    deploy(session, "commitment_approval", now)
    case = start_case(session, "commitment_approval", {}, people["applicant"], now, title="公共场所卫生许可")
    sign = only_task(session, case, "sign_commitment")
    assert sign.assignee_id == people["applicant"].id
    complete(session, sign, SIGNED, people["applicant"], now)
    approve = only_task(session, case, "approve_immediately")
    # 即办件: 0 working days → due the same day, Mon 11-23
    assert (candidates(approve), due_date(approve)) == (("clerk", None), date(2026, 11, 23))
    complete(session, approve, APPROVED, people["clerk"], now)
    return case


def test_declining_the_commitment_ends_the_case(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    deploy(session, "commitment_approval", now)
    case = start_case(session, "commitment_approval", {}, people["applicant"], now)
    sign = only_task(session, case, "sign_commitment")
    with pytest.raises(InvalidInput) as caught:
        complete(session, sign, {"decision": "commit"}, people["applicant"], now)
    assert {"read_notice", "signatory", "signed_on"} <= set(caught.value.details or {})
    complete(session, sign, {"decision": "decline"}, people["applicant"], now)
    session.refresh(case)
    assert case.status == "completed" and open_tasks(session, case) == []


def test_commitment_verified_true_closes_the_case(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _approved(session, people, now)
    verify = only_task(session, case, "verify_commitment")
    assert candidates(verify) == ("inspector", None)
    assert verify.properties["deadlineField"] == "verification_deadline"
    assert case.next_timer_at == DEADLINE
    assert verify.due_at is not None and verify.due_at == DEADLINE  # the step's due date is the 核查期限
    complete(session, verify, CONSISTENT, people["inspector"], now + timedelta(days=17))
    session.refresh(case)
    assert case.status == "completed" and case.next_timer_at is None
    assert done_steps(session, case) == ["sign_commitment", "approve_immediately", "verify_commitment"]
    assert opinions(session, case)[-1] == ("事后核查", "inspector", "consistent", "承诺属实")
    assert outbox_kinds(session, case) == []


def test_false_commitment_revokes_the_licence(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _approved(session, people, now)
    verify = only_task(session, case, "verify_commitment")
    false = {**CONSISTENT, "verification_result": "false_commitment", "opinion": "承诺不实"}
    with pytest.raises(InvalidInput) as caught:
        complete(session, verify, false, people["inspector"], now)
    assert "evidence" in (caught.value.details or {})
    complete(session, verify, {**false, "evidence": ["现场照片.jpg"]}, people["inspector"], now)
    revoke = only_task(session, case, "revoke_licence")
    # 5 working days from Mon 11-23 → Mon 11-30
    assert (candidates(revoke), due_date(revoke)) == (("clerk", None), date(2026, 11, 30))
    assert ready_data(case, "revoke_licence")["commitment_false"] is True  # what govflow reads for credit
    revocation = {
        "revocation_reason": "申请人承诺的卫生设施不存在",
        "legal_basis": "《中华人民共和国行政许可法》第六十九条第二款",
        "decision_documents": ["撤销行政许可决定书.pdf"],
        "revoked_on": "2026-11-24",
        "opinion": "依法撤销",
    }
    complete(session, revoke, revocation, people["clerk"], now)
    session.refresh(case)
    assert case.status == "completed" and case.next_timer_at is None
    assert [o[2] for o in opinions(session, case)][-2:] == ["false_commitment", None]


def test_verification_overdue_reports_to_supervision_and_keeps_the_task(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _approved(session, people, now)
    verify_id = only_task(session, case, "verify_commitment").id
    assert fire_case_timers(session, case.id, DEADLINE - timedelta(hours=1)) is False
    late = datetime.fromisoformat("2026-12-21T09:00:00+08:00")
    assert fire_case_timers(session, case.id, late) is True
    assert outbox_kinds(session, case) == ["verification_overdue"]
    event = session.query(OutboxEvent).filter_by(case_id=case.id, channel="bpmn").one()
    assert event.payload["payload"]["verification_deadline"] == "2026-12-18"
    assert event.payload["payload"]["verification_overdue"] is True
    verify = only_task(session, case, "verify_commitment")  # non-interrupting: the same task stays open
    assert verify.id == verify_id and case.status == "open" and case.next_timer_at is None
    assert fire_case_timers(session, case.id, late + timedelta(days=1)) is False  # fires once
    complete(session, verify, CONSISTENT, people["inspector"], late)
    session.refresh(case)
    assert case.status == "completed"
    assert outbox_kinds(session, case) == ["verification_overdue"]
