"""收文 (document_incoming) through the service layer: 平件 with host and co-handling departments,
特急 limits, and 初审 returning the document to its sender.

The clock is Monday 2026-11-23 09:30; limits by urgency come from the timeLimitByUrgency property.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Case, Opinion, User
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
    opinions,
    ready_data,
)

SIGNED_IN = {"received_on": "2026-11-23", "sender_org": "市人民政府办公室", "copies": 2, "seal_intact": True}
ARCHIVED = {"archive_no": "GXQ-2026-WS-0158", "retention_period": "30y", "archived_on": "2026-11-30"}


def _register(urgency: str) -> dict[str, object]:
    return {
        "title": "关于开展2026年度安全生产大检查的通知",
        "source_org": "市人民政府办公室",
        "source_doc_number": "市政办发〔2026〕45号",
        "urgency": urgency,
        "secrecy_level": "none",
        "pages": 6,
        "document_files": ["来文.pdf"],
    }


@pytest.fixture
def people(session: Session, now: datetime) -> dict[str, User]:
    users = {
        "office": create_user(session, now, roles=[("office", "office")]),
        "leader": create_user(session, now, roles=[("leader", "gxq")]),
    }
    for dept in ("market", "eco", "housing"):
        users[dept] = create_user(session, now, roles=[("dept_head", dept)])
    return users


def _received(session: Session, people: dict[str, User], now: datetime, urgency: str) -> Case:
    deploy(session, "document_incoming", now)
    case = start_case(session, "document_incoming", {}, people["office"], now, kind="document")
    sign_in = only_task(session, case, "sign_in_document")
    # 1 working day → Tue 11-24
    assert (candidates(sign_in), due_date(sign_in)) == (("office", None), date(2026, 11, 24))
    complete(session, sign_in, SIGNED_IN, people["office"], now)
    complete(
        session, only_task(session, case, "register_document"), _register(urgency), people["office"], now
    )
    return case


def _to_leader(session: Session, case: Case, people: dict[str, User], now: datetime) -> None:
    review = only_task(session, case, "review_document")
    complete(session, review, {"decision": "accept", "opinion": "属本机关办理"}, people["office"], now)
    proposal = {
        "proposal": "建议市场监管局主办，生态环境局、住建局协办",
        "proposed_host_department": "market",
    }
    complete(session, only_task(session, case, "propose_handling"), proposal, people["office"], now)


def test_host_and_co_handling_departments_in_parallel(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _received(session, people, now, "平件")
    _to_leader(session, case, people, now)
    instruction = only_task(session, case, "leader_instruction")
    # 平件 → 3 working days from Mon 11-23 → Thu 11-26
    assert (candidates(instruction), due_date(instruction)) == (("leader", None), date(2026, 11, 26))
    with pytest.raises(InvalidInput) as caught:
        complete(session, instruction, {"instruction": "请办理"}, people["leader"], now)
    assert {"host_department", "co_departments", "opinion"} & set(caught.value.details or {})
    order = {
        "instruction": "请市场监管局牵头落实，相关部门配合",
        "host_department": "market",
        "co_departments": ["eco", "market", "housing"],  # the host listed again is dropped
        "opinion": "同意拟办意见",
    }
    complete(session, instruction, order, people["leader"], now)
    handling = open_tasks(session, case)
    assert [candidates(t) for t in handling] == [
        ("dept_head", "market"),
        ("dept_head", "eco"),
        ("dept_head", "housing"),
    ]
    assert ready_data(case, "handle_document")["handling_departments"] == ["market", "eco", "housing"]
    # 平件 → 10 working days → Mon 12-07
    assert {due_date(t) for t in handling} == {date(2026, 12, 7)}
    for task in reversed(handling):  # co-handling departments answer first, the host last
        dept = task.candidate_department or ""
        complete(
            session, task, {"handling_summary": f"{dept} 已办理", "opinion": "已落实"}, people[dept], now
        )
    circulate = only_task(session, case, "circulate_document")
    # the multi-instance output list is filled in completion order (who said what is in the opinion log)
    assert ready_data(case, "circulate_document")["handling_summaries"] == [
        "housing 已办理",
        "eco 已办理",
        "market 已办理",
    ]
    # 平件 → 2 working days → Wed 11-25
    assert (candidates(circulate), due_date(circulate)) == (("leader", None), date(2026, 11, 25))
    complete(session, circulate, {"read_confirmed": True, "remark": "已阅"}, people["leader"], now)
    completion = only_task(session, case, "complete_document")
    with pytest.raises(InvalidInput) as caught:
        unanswered = {"result_summary": "已落实", "reply_required": True, "completed_on": "2026-11-27"}
        complete(session, completion, unanswered, people["office"], now)
    assert "reply_text" in (caught.value.details or {})
    complete(
        session, completion, {"result_summary": "已落实", "completed_on": "2026-11-27"}, people["office"], now
    )
    archive = only_task(session, case, "archive_document")
    assert due_date(archive) == date(2026, 11, 30)  # 5 working days
    complete(session, archive, ARCHIVED, people["office"], now)
    session.refresh(case)
    assert case.status == "completed"
    assert done_steps(session, case) == [
        "sign_in_document", "register_document", "review_document", "propose_handling", "leader_instruction",
        "handle_document", "handle_document", "handle_document", "circulate_document", "complete_document",
        "archive_document",
    ]  # fmt: skip
    departments = session.scalars(
        select(Opinion.department).where(Opinion.case_id == case.id).order_by(Opinion.id)
    )
    assert list(departments) == ["office", "gxq", "housing", "eco", "market"]
    assert [(o[1], o[3]) for o in opinions(session, case)] == [
        ("office", "属本机关办理"),
        ("leader", "同意拟办意见"),
        ("dept_head", "已落实"),
        ("dept_head", "已落实"),
        ("dept_head", "已落实"),
    ]


def test_urgent_document_gets_short_limits(session: Session, people: dict[str, User], now: datetime) -> None:
    case = _received(session, people, now, "特急")
    _to_leader(session, case, people, now)
    instruction = only_task(session, case, "leader_instruction")
    assert due_date(instruction) == date(2026, 11, 24)  # 特急: 1 working day
    order = {
        "instruction": "特急，请立即办理",
        "host_department": "eco",
        "co_departments": [],
        "opinion": "急办",
    }
    complete(session, instruction, order, people["leader"], now)
    handle = only_task(session, case, "handle_document")
    assert candidates(handle) == ("dept_head", "eco")
    assert due_date(handle) == date(2026, 11, 26)  # 特急: 3 working days
    complete(session, handle, {"handling_summary": "已办结", "opinion": "已办"}, people["eco"], now)
    assert due_date(only_task(session, case, "circulate_document")) == date(2026, 11, 24)  # 特急: 1


def test_review_returns_the_document_to_its_sender_with_a_reason(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _received(session, people, now, "加急")
    review = only_task(session, case, "review_document")
    with pytest.raises(InvalidInput) as caught:
        complete(session, review, {"decision": "return_to_sender"}, people["office"], now)
    assert "return_reason" in (caught.value.details or {})
    returned = {"decision": "return_to_sender", "return_reason": "来文应由市级部门办理，不属本机关职责"}
    complete(session, review, returned, people["office"], now)
    session.refresh(case)
    assert case.status == "completed" and open_tasks(session, case) == []
    assert opinions(session, case) == [("初审", "office", "return_to_sender", "")]
