"""发文 (document_outgoing) through the service layer: happy path with 会签 and 发文字号, 核稿 return,
会签 return and resubmission, no 会签 departments, and numbering per issuer.

The clock is Monday 2026-11-23 09:30: 拟稿 3 working days → Thu 11-26, 核稿 2 → Wed 11-25, 会签 3 → Thu 11-26,
签发 2 → Wed 11-25, 编号/用印/分发 1 → Tue 11-24, 归档 5 → Mon 11-30.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy.orm import Session

from app.models import Case, User
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
    ready_data,
)

SIGNED = {"sign_opinion": "同意印发", "signed_on": "2026-11-24", "opinion": "同意"}
META = {"issuer": "office", "issuer_prefix": "高新管发"}  # 管委会办公室 issues 高新管发


def _draft(cosign: list[str]) -> dict[str, object]:
    return {
        "title": "关于进一步优化营商环境的实施意见",
        "doc_type": "opinion",
        "main_recipients": "区各部门、各街道",
        "urgency": "平件",
        "secrecy_level": "none",
        "cosign_departments": cosign,
        "body": ["正文.docx"],
    }


@pytest.fixture
def people(session: Session, now: datetime) -> dict[str, User]:
    users = {
        "drafter": create_user(session, now, roles=[("approver", "market")]),
        "head": create_user(session, now, roles=[("dept_head", "market")]),
        "leader": create_user(session, now, roles=[("leader", "gxq")]),
        "office": create_user(session, now, roles=[("office", "office")]),
    }
    for dept in ("eco", "housing"):
        users[dept] = create_user(session, now, roles=[("dept_head", dept)])
    return users


def _start(
    session: Session, people: dict[str, User], now: datetime, meta: dict[str, str] | None = None
) -> Case:
    deploy(session, "document_outgoing", now)
    data = {"drafting_dept": "market"}
    meta = META if meta is None else meta
    return start_case(session, "document_outgoing", data, people["drafter"], now, kind="document", meta=meta)


def _drafted(session: Session, case: Case, people: dict[str, User], now: datetime, cosign: list[str]) -> None:
    draft = only_task(session, case, "draft_document")
    assert (candidates(draft), due_date(draft)) == (("approver", "market"), date(2026, 11, 26))
    complete(session, draft, _draft(cosign), people["drafter"], now)
    check = only_task(session, case, "check_draft")
    assert (candidates(check), due_date(check)) == (("dept_head", "market"), date(2026, 11, 25))
    complete(session, check, {"decision": "pass", "opinion": "文稿规范"}, people["head"], now)


def _cosign_all(session: Session, case: Case, people: dict[str, User], now: datetime) -> None:
    tasks = open_tasks(session, case)
    assert sorted(candidates(t) for t in tasks) == [("dept_head", "eco"), ("dept_head", "housing")]
    assert {due_date(t) for t in tasks} == {date(2026, 11, 26)}
    for task in tasks:
        dept = task.candidate_department or ""
        complete(session, task, {"cosign_decision": "agree", "opinion": "同意"}, people[dept], now)


def _issue(session: Session, case: Case, people: dict[str, User], now: datetime) -> str:
    sign = only_task(session, case, "sign_issue")
    assert (candidates(sign), due_date(sign)) == (("leader", None), date(2026, 11, 25))
    complete(session, sign, SIGNED, people["leader"], now)
    number = only_task(session, case, "assign_number")
    assert number.properties["allocatesDocumentNumber"] == "true" and due_date(number) == date(2026, 11, 24)
    complete(session, number, {"issue_date": "2026-11-24"}, people["office"], now)
    session.refresh(case)
    return str(case.data["document_number"])


def test_happy_path_with_cosigning_and_a_document_number(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _start(session, people, now)
    _drafted(session, case, people, now, ["eco", "housing"])
    _cosign_all(session, case, people, now)
    assert _issue(session, case, people, now) == "高新管发〔2026〕1号"
    assert case.data["issuer"] == "office"
    # the engine has the number too, for the steps that follow
    assert ready_data(case, "seal_document")["document_number"] == "高新管发〔2026〕1号"
    seal = {"seal_type": "electronic", "sealed_on": "2026-11-24"}
    complete(session, only_task(session, case, "seal_document"), seal, people["office"], now)
    distribution = {
        "channels": ["oa", "portal"],
        "recipients": "区各部门、各街道",
        "distributed_on": "2026-11-24",
    }
    complete(session, only_task(session, case, "distribute_document"), distribution, people["office"], now)
    archive = only_task(session, case, "archive_document")
    assert due_date(archive) == date(2026, 11, 30)
    archived = {"archive_no": "FW-2026-001", "retention_period": "permanent", "archived_on": "2026-11-25"}
    complete(session, archive, archived, people["office"], now)
    session.refresh(case)
    assert case.status == "completed"
    assert done_steps(session, case) == [
        "draft_document", "check_draft", "cosign_document", "cosign_document", "sign_issue", "assign_number",
        "seal_document", "distribute_document", "archive_document",
    ]  # fmt: skip
    assert [(o[0], o[1], o[2]) for o in opinions(session, case)] == [
        ("核稿", "dept_head", "pass"),
        ("会签", "dept_head", "agree"),
        ("会签", "dept_head", "agree"),
        ("领导签发", "leader", None),
    ]


def test_check_return_goes_back_to_drafting(session: Session, people: dict[str, User], now: datetime) -> None:
    case = _start(session, people, now)
    complete(session, only_task(session, case, "draft_document"), _draft([]), people["drafter"], now)
    check = only_task(session, case, "check_draft")
    with pytest.raises(InvalidInput) as caught:
        complete(session, check, {"decision": "return"}, people["head"], now)
    assert "opinion" in (caught.value.details or {})
    complete(
        session, check, {"decision": "return", "opinion": "政策依据引用有误，请修改"}, people["head"], now
    )
    _drafted(session, case, people, now, [])
    # no 会签 departments: the multi-instance is skipped, straight to 签发
    assert open_ids(session, case) == ["sign_issue"]
    assert opinions(session, case)[0] == ("核稿", "dept_head", "return", "政策依据引用有误，请修改")


def test_cosign_return_and_resubmission(session: Session, people: dict[str, User], now: datetime) -> None:
    case = _start(session, people, now)
    _drafted(session, case, people, now, ["eco", "housing"])
    tasks = {t.candidate_department: t for t in open_tasks(session, case)}
    with pytest.raises(InvalidInput) as caught:
        complete(session, tasks["eco"], {"cosign_decision": "return"}, people["eco"], now)
    assert "opinion" in (caught.value.details or {})
    complete(
        session, tasks["eco"], {"cosign_decision": "return", "opinion": "环保条款需修改"}, people["eco"], now
    )
    complete(
        session, tasks["housing"], {"cosign_decision": "agree", "opinion": "同意"}, people["housing"], now
    )
    _drafted(session, case, people, now, ["eco", "housing"])  # resubmitted, checked again
    _cosign_all(session, case, people, now)  # cosign_decisions was reset: the earlier 'return' is gone
    assert _issue(session, case, people, now) == "高新管发〔2026〕1号"
    decisions = [o[2] for o in opinions(session, case) if o[0] == "会签"]
    assert decisions == ["return", "agree", "agree", "agree"]


def test_numbers_are_consecutive_per_issuer_and_default_to_the_office(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    numbers = []
    for meta in (META, META, {}, {"issuer": "market", "issuer_prefix": "高新市监发"}):
        case = _start(session, people, now, meta)
        _drafted(session, case, people, now, [])
        numbers.append(_issue(session, case, people, now))
    # no issuer given: the office with 高新管发, so the same sequence continues
    assert numbers == [
        "高新管发〔2026〕1号",
        "高新管发〔2026〕2号",
        "高新管发〔2026〕3号",
        "高新市监发〔2026〕1号",
    ]


def test_leader_returns_at_signing_and_the_redraft_goes_round_again(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    from app.services.operations import return_task

    case = _start(session, people, now)
    _drafted(session, case, people, now, ["eco"])
    complete(
        session,
        only_task(session, case, "cosign_document"),
        {"cosign_decision": "agree", "opinion": "同意"},
        people["eco"],
        now,
    )
    sign = only_task(session, case, "sign_issue")
    with pytest.raises(InvalidInput) as caught:  # only the steps listed in returnTargets
        return_task(session, sign.id, "cosign_document", "请重新会签", people["leader"], now)
    assert caught.value.details == {"allowed": ["draft_document", "check_draft"]}
    return_task(session, sign.id, "draft_document", "第三条表述不准确，请修改", people["leader"], now)
    assert open_ids(session, case) == ["draft_document"]
    _drafted(session, case, people, now, ["eco"])  # redraft, check again
    complete(
        session,
        only_task(session, case, "cosign_document"),
        {"cosign_decision": "agree", "opinion": "同意"},
        people["eco"],
        now,
    )
    assert (
        _issue(session, case, people, now) == "高新管发〔2026〕1号"
    )  # numbered once, after the second signing
    returned = [o for o in opinions(session, case) if o[2] == "return"]
    assert [(o[0], o[1], o[3]) for o in returned] == [("领导签发", "leader", "第三条表述不准确，请修改")]
