"""并联审批 (parallel_approval) through the service layer: every path the diagram draws.

Scenario: 企业设立登记 — 市场监管局 (market) leads; 税务局 (tax) and 公安分局 (police, 刻章) review
in parallel.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Case, Notification, User
from app.services.cases import open_tasks, start_case
from app.services.errors import InvalidInput
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

MEMBERS = ["tax", "police"]
ISSUED = {
    "licence_no": "91320500MA1XYZ0001",
    "result_documents": ["营业执照.pdf"],
    "delivery_method": "electronic",
    "delivered_on": "2026-11-23",
}


@pytest.fixture
def people(session: Session, now: datetime) -> dict[str, User]:
    users = {
        "applicant": create_user(session, now, roles=[("applicant", None)]),
        "clerk": create_user(session, now, roles=[("clerk", "approval")]),
        "market": create_user(session, now, roles=[("approver", "market")]),
    }
    for dept in MEMBERS:
        users[dept] = create_user(session, now, roles=[("approver", dept)])
    return users


def _start(session: Session, people: dict[str, User], now: datetime) -> Case:
    deploy(session, "parallel_approval", now)
    data = {"lead_dept": "market", "member_departments": MEMBERS}
    return start_case(session, "parallel_approval", data, people["applicant"], now, title="企业设立登记")


def _accept(session: Session, case: Case, people: dict[str, User], now: datetime) -> None:
    intake = only_task(session, case, "accept_application")
    complete(
        session, intake, {"decision": "accept", "received_materials": ["章程.pdf"]}, people["clerk"], now
    )


def _lead_pass(session: Session, case: Case, people: dict[str, User], now: datetime) -> None:
    lead = only_task(session, case, "lead_check")
    complete(session, lead, {"decision": "pass", "opinion": "材料完整，分送会审"}, people["market"], now)


def _members(session: Session, case: Case, people: dict[str, User], now: datetime, decision: str) -> None:
    reviews = open_tasks(session, case)
    assert sorted((t.bpmn_id, t.candidate_department) for t in reviews) == [
        ("member_review", "police"),
        ("member_review", "tax"),
    ]
    for task in reviews:
        data: dict[str, object] = {"review_decision": "agree", "opinion": "同意"}
        if decision == "supplement" and task.candidate_department == "police":
            data = {"review_decision": "supplement", "opinion": "需补正", "supplement_items": ["印章样式"]}
        complete(session, task, data, people[task.candidate_department or ""], now)


def test_happy_path_every_step_candidates_and_due_dates(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _start(session, people, now)
    intake = only_task(session, case, "accept_application")
    # 5 working days from Mon 11-23: 24, 25, 26, 27, 30 → Mon 11-30
    assert (candidates(intake), due_date(intake)) == ((("clerk", None)), date(2026, 11, 30))
    _accept(session, case, people, now)
    lead = only_task(session, case, "lead_check")
    # lane approver@{lead_dept}; 3 working days → Thu 11-26
    assert (candidates(lead), due_date(lead)) == (("approver", "market"), date(2026, 11, 26))
    _lead_pass(session, case, people, now)
    # each member review: 15 working days → Mon 12-14 (no holiday between)
    assert {due_date(t) for t in open_tasks(session, case)} == {date(2026, 12, 14)}
    _members(session, case, people, now, "agree")
    decide = only_task(session, case, "lead_decision")
    assert (candidates(decide), due_date(decide)) == (("approver", "market"), date(2026, 11, 30))
    complete(session, decide, {"decision": "approve", "opinion": "准予设立登记"}, people["market"], now)
    issue = only_task(session, case, "issue_licence")
    assert (candidates(issue), due_date(issue)) == (("clerk", None), date(2026, 11, 24))
    assert issue.properties["issuesLicence"] == "true"
    complete(session, issue, ISSUED, people["clerk"], now)
    session.refresh(case)
    assert case.status == "completed" and open_tasks(session, case) == []
    assert done_steps(session, case) == [
        "accept_application", "lead_check", "member_review", "member_review", "lead_decision",
        "issue_licence",
    ]  # fmt: skip
    assert [(step, role, decision) for step, role, decision, _ in opinions(session, case)] == [
        ("窗口受理", "clerk", "accept"),
        ("牵头部门审查", "approver", "pass"),
        ("成员部门并联审查", "approver", "agree"),
        ("成员部门并联审查", "approver", "agree"),
        ("牵头部门决定", "approver", "approve"),
    ]


def test_refusal_needs_reasons_and_ends_the_case(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _start(session, people, now)
    intake = only_task(session, case, "accept_application")
    with pytest.raises(InvalidInput) as caught:
        complete(session, intake, {"decision": "refuse"}, people["clerk"], now)
    assert {"refuse_reasons", "legal_basis"} <= set(caught.value.details or {})
    refusal = {
        "decision": "refuse",
        "refuse_reasons": "申请事项依法不需要取得行政许可",
        "legal_basis": "《中华人民共和国行政许可法》第三十二条第一款第（一）项",
        "opinion": "不予受理",
    }
    complete(session, intake, refusal, people["clerk"], now)
    session.refresh(case)
    assert case.status == "completed" and open_tasks(session, case) == []
    assert opinions(session, case) == [("窗口受理", "clerk", "refuse", "不予受理")]


def test_window_supplement_loop_pauses_the_clock(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _start(session, people, now)
    intake = only_task(session, case, "accept_application")
    with pytest.raises(InvalidInput) as caught:
        complete(session, intake, {"decision": "supplement", "supplement_items": []}, people["clerk"], now)
    assert "supplement_items" in (caught.value.details or {})
    notice = {"decision": "supplement", "supplement_items": ["公司章程", "住所使用证明"]}
    complete(session, intake, notice, people["clerk"], now)
    supplement = only_task(session, case, "supplement_materials")
    assert supplement.properties["pausesClock"] == "补正" and supplement.due_at is None
    assert supplement.assignee_id == people["applicant"].id and candidates(supplement) == ("applicant", None)
    told = session.scalars(select(Notification).where(Notification.user_id == people["applicant"].id)).all()
    assert [(n.kind, n.link) for n in told] == [("case.applicant_step", f"/my/cases/{case.number}")]
    assert supplement.name in told[0].title
    with pytest.raises(InvalidInput):
        complete(session, supplement, {}, people["applicant"], now)
    complete(session, supplement, {"materials": ["章程.pdf", "租赁合同.pdf"]}, people["applicant"], now)
    _accept(session, case, people, now)
    lead = only_task(session, case, "lead_check")
    notice = {"decision": "supplement", "supplement_items": ["股东身份证明"], "opinion": "缺股东证明"}
    complete(session, lead, notice, people["market"], now)
    supplement = only_task(session, case, "supplement_materials")
    complete(session, supplement, {"materials": ["身份证.pdf"]}, people["applicant"], now)
    _accept(session, case, people, now)
    _lead_pass(session, case, people, now)
    assert open_ids(session, case) == ["member_review", "member_review"]


def test_member_supplement_reruns_the_parallel_review(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _start(session, people, now)
    _accept(session, case, people, now)
    _lead_pass(session, case, people, now)
    _members(session, case, people, now, "supplement")
    supplement = only_task(session, case, "supplement_review_materials")
    assert supplement.properties["pausesClock"] == "补正"
    complete(session, supplement, {"materials": ["印章样式.pdf"]}, people["applicant"], now)
    _members(session, case, people, now, "agree")  # member_decisions was reset: the old 'supplement' is gone
    assert open_ids(session, case) == ["lead_decision"]


def test_denial_needs_reasons_and_is_delivered(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _start(session, people, now)
    _accept(session, case, people, now)
    _lead_pass(session, case, people, now)
    _members(session, case, people, now, "agree")
    decide = only_task(session, case, "lead_decision")
    with pytest.raises(InvalidInput) as caught:
        complete(session, decide, {"decision": "deny", "opinion": "不予许可"}, people["market"], now)
    assert {"deny_reasons", "legal_basis", "remedy_notice"} <= set(caught.value.details or {})
    with pytest.raises(InvalidInput) as caught:
        complete(session, decide, {"decision": "approve", "opinion": " "}, people["market"], now)
    assert "opinion" in (caught.value.details or {})
    denial = {
        "decision": "deny",
        "opinion": "不予许可",
        "deny_reasons": "拟登记名称与已登记企业名称相同",
        "legal_basis": "《市场主体登记管理条例》第十条",
        "remedy_notice": "如不服本决定，可以自收到决定书之日起六十日内申请行政复议。",
    }
    complete(session, decide, denial, people["market"], now)
    deliver = only_task(session, case, "deliver_refusal")
    assert due_date(deliver) == date(2026, 11, 24)
    notice = {
        "notice_documents": ["不予许可决定书.pdf"],
        "delivery_method": "post",
        "delivered_on": "2026-11-24",
    }
    complete(session, deliver, notice, people["clerk"], now)
    session.refresh(case)
    assert case.status == "completed"
    assert opinions(session, case)[-1] == ("牵头部门决定", "approver", "deny", "不予许可")


def test_due_dates_skip_the_national_day_holiday(session: Session, people: dict[str, User]) -> None:
    # Wed 2026-09-30; 国庆 Oct 1–7 are holidays; Sat Oct 10 is a 调休 working day.
    # 5 working days: Thu 10-08 (1), Fri 10-09 (2), Sat 10-10 (3), Mon 10-12 (4), Tue 10-13 (5).
    start = datetime(2026, 9, 30, 16, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    case = _start(session, people, start)
    intake = only_task(session, case, "accept_application")
    assert due_date(intake) == date(2026, 10, 13)
    _accept(session, case, people, start)
    # 3 working days: 10-08, 10-09, 10-10 (Saturday, but a working day)
    assert due_date(only_task(session, case, "lead_check")) == date(2026, 10, 10)


@pytest.mark.parametrize("target", ["lead_check", "member_review"])
def test_lead_decision_returns_and_the_case_is_reviewed_again(
    session: Session, people: dict[str, User], now: datetime, target: str
) -> None:
    from app.services.operations import return_task

    case = _start(session, people, now)
    _accept(session, case, people, now)
    _lead_pass(session, case, people, now)
    _members(session, case, people, now, "agree")
    decision = only_task(session, case, "lead_decision")
    return_task(session, decision.id, target, "请补充说明审查依据", people["market"], now)
    if target == "lead_check":
        assert open_ids(session, case) == ["lead_check"]
        _lead_pass(session, case, people, now)
        _members(session, case, people, now, "agree")
    else:  # back into the parallel review: every member department reviews again
        _members(session, case, people, now, "agree")
    assert open_ids(session, case) == ["lead_decision"]
    returned = [o for o in opinions(session, case) if o[2] == "return"]
    assert [(o[0], o[3]) for o in returned] == [("牵头部门决定", "请补充说明审查依据")]
