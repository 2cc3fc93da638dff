"""12345 工单 (hotline_work_order) through the service layer: answered on the spot, dispatched and closed,
退单 → arbitration → re-dispatch or confirm, extension approval, and 回访 dissatisfied → 重办.

The clock is Monday 2026-11-23 09:30; the handling limit by category counts from 签收:
投诉 13 working days → Thu 12-10, 咨询 3 → Thu 11-26, other 7 → Wed 12-02.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy.orm import Session

from app.models import Case, User
from app.services.cases import open_tasks, start_case
from app.services.errors import InvalidInput, PermissionDenied
from tests.factories import create_user
from tests.processes.scenario import (
    candidates,
    complete,
    deploy,
    done_steps,
    due_date,
    only_task,
    opinions,
)

REPLY = {"reply_method": "phone", "reply_content": "已责令商户整改并退款", "replied_on": "2026-11-25"}
DONE = {"decision": "done", "handling_result": "现场检查，责令整改", "opinion": "已办结"}


def _intake(category: str) -> dict[str, object]:
    return {
        "caller_name": "刘先生",
        "phone": "13800138000",
        "category": category,
        "content": "某超市销售过期食品",
        "location": "高新区创业路 88 号",
        "decision": "dispatch",
    }


@pytest.fixture
def people(session: Session, now: datetime) -> dict[str, User]:
    return {
        "operator": create_user(session, now, roles=[("operator", "hotline")]),
        "arbiter": create_user(session, now, roles=[("arbiter", "hotline")]),
        "market": create_user(session, now, roles=[("approver", "market")]),
        "eco": create_user(session, now, roles=[("approver", "eco")]),
    }


def _start(session: Session, people: dict[str, User], now: datetime) -> Case:
    deploy(session, "hotline_work_order", now)
    return start_case(session, "hotline_work_order", {}, people["operator"], now, kind="work_order")


def _dispatched(session: Session, people: dict[str, User], now: datetime, category: str = "投诉") -> Case:
    case = _start(session, people, now)
    register = only_task(session, case, "register_order")
    assert candidates(register) == ("operator", None) and register.due_at is None
    complete(session, register, _intake(category), people["operator"], now)
    dispatch = only_task(session, case, "dispatch_order")
    assert (candidates(dispatch), due_date(dispatch)) == (("operator", None), date(2026, 11, 24))
    complete(
        session, dispatch, {"dept": "market", "dispatch_instruction": "请核查处理"}, people["operator"], now
    )
    return case


def _signed(
    session: Session, case: Case, people: dict[str, User], now: datetime, dept: str = "market"
) -> None:
    sign = only_task(session, case, "sign_order")
    assert (candidates(sign), due_date(sign)) == (("approver", dept), date(2026, 11, 24))
    assert sign.properties["startsClock"] == "true"
    complete(session, sign, {"decision": "accept"}, people[dept], now)


def _close(
    session: Session, case: Case, people: dict[str, User], now: datetime, dept: str = "market"
) -> None:
    complete(session, only_task(session, case, "handle_order"), DONE, people[dept], now)
    reply = only_task(session, case, "reply_citizen")
    assert (candidates(reply), due_date(reply)) == (("approver", dept), date(2026, 11, 24))
    complete(session, reply, REPLY, people[dept], now)
    revisit = only_task(session, case, "revisit_citizen")
    assert (candidates(revisit), due_date(revisit)) == (("operator", None), date(2026, 11, 25))
    complete(session, revisit, {"satisfaction": "满意", "decision": "close"}, people["operator"], now)


def test_consultation_answered_on_the_spot(session: Session, people: dict[str, User], now: datetime) -> None:
    case = _start(session, people, now)
    register = only_task(session, case, "register_order")
    direct = {**_intake("咨询"), "decision": "resolved_directly"}
    with pytest.raises(InvalidInput) as caught:
        complete(session, register, direct, people["operator"], now)
    assert "direct_answer" in (caught.value.details or {})
    with pytest.raises(InvalidInput) as caught:
        complete(session, register, {**direct, "phone": "call me"}, people["operator"], now)
    assert "phone" in (caught.value.details or {})
    complete(
        session, register, {**direct, "direct_answer": "营业执照可在政务服务网办理"}, people["operator"], now
    )
    session.refresh(case)
    assert case.status == "completed" and open_tasks(session, case) == []


def test_dispatched_complaint_is_handled_replied_and_closed(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _dispatched(session, people, now)
    sign = only_task(session, case, "sign_order")
    with pytest.raises(PermissionDenied):
        complete(session, sign, {"decision": "accept"}, people["eco"], now)  # not the department it went to
    _signed(session, case, people, now)
    handle = only_task(session, case, "handle_order")
    assert (candidates(handle), due_date(handle)) == (("approver", "market"), date(2026, 12, 10))  # 投诉 13
    _close(session, case, people, now)
    session.refresh(case)
    assert case.status == "completed"
    assert done_steps(session, case) == [
        "register_order", "dispatch_order", "sign_order", "handle_order", "reply_citizen", "revisit_citizen",
    ]  # fmt: skip


def test_category_sets_the_handling_limit(session: Session, people: dict[str, User], now: datetime) -> None:
    for category, due in (("咨询", date(2026, 11, 26)), ("求助", date(2026, 12, 2))):
        case = _dispatched(session, people, now, category)
        _signed(session, case, people, now)
        assert due_date(only_task(session, case, "handle_order")) == due


def test_return_arbitrated_and_redispatched(session: Session, people: dict[str, User], now: datetime) -> None:
    case = _dispatched(session, people, now)
    sign = only_task(session, case, "sign_order")
    with pytest.raises(InvalidInput) as caught:
        complete(session, sign, {"decision": "reject"}, people["market"], now)
    assert "reject_reason" in (caught.value.details or {})
    reject = {"decision": "reject", "reject_reason": "噪声污染属生态环境部门职责", "suggested_dept": "eco"}
    complete(session, sign, reject, people["market"], now)
    arbitrate = only_task(session, case, "arbitrate_return")
    assert (candidates(arbitrate), due_date(arbitrate)) == (("arbiter", None), date(2026, 11, 24))
    with pytest.raises(InvalidInput) as caught:
        complete(session, arbitrate, {"decision": "redispatch"}, people["arbiter"], now)
    assert "opinion" in (caught.value.details or {})
    complete(
        session,
        arbitrate,
        {"decision": "redispatch", "opinion": "理由成立，改派生态环境局"},
        people["arbiter"],
        now,
    )
    complete(session, only_task(session, case, "dispatch_order"), {"dept": "eco"}, people["operator"], now)
    _signed(session, case, people, now, dept="eco")
    _close(session, case, people, now, dept="eco")
    session.refresh(case)
    assert case.status == "completed"
    assert [(o[1], o[2]) for o in opinions(session, case)][:3] == [
        ("operator", "dispatch"),
        ("approver", "reject"),
        ("arbiter", "redispatch"),
    ]


def test_return_rejected_by_the_arbiter_stays_with_the_department(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _dispatched(session, people, now)
    reject = {"decision": "reject", "reject_reason": "不属本单位职责"}
    complete(session, only_task(session, case, "sign_order"), reject, people["market"], now)
    confirm = {"decision": "confirm", "opinion": "食品安全属市场监管职责，维持原派"}
    complete(session, only_task(session, case, "arbitrate_return"), confirm, people["arbiter"], now)
    _signed(session, case, people, now)  # the same department signs it this time


def test_extension_is_approved_and_handling_continues(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _dispatched(session, people, now)
    _signed(session, case, people, now)
    handle = only_task(session, case, "handle_order")
    with pytest.raises(InvalidInput) as caught:
        complete(session, handle, {"decision": "extend"}, people["market"], now)
    assert {"extension_days", "extension_reason"} <= set(caught.value.details or {})
    extend = {"decision": "extend", "extension_days": 5, "extension_reason": "需等待检测报告"}
    complete(session, handle, extend, people["market"], now)
    approve = only_task(session, case, "approve_extension")
    assert (candidates(approve), due_date(approve)) == (("arbiter", None), date(2026, 11, 24))
    assert approve.properties["grantsExtension"] == "true"
    complete(
        session, approve, {"decision": "approve", "opinion": "同意延期5个工作日"}, people["arbiter"], now
    )
    _close(session, case, people, now)
    session.refresh(case)
    assert case.status == "completed"
    assert [o[2] for o in opinions(session, case)] == [
        "dispatch",
        "accept",
        "extend",
        "approve",
        "done",
        "close",
    ]


def test_dissatisfied_revisit_sends_the_order_back_for_redo(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _dispatched(session, people, now)
    _signed(session, case, people, now)
    complete(session, only_task(session, case, "handle_order"), DONE, people["market"], now)
    complete(session, only_task(session, case, "reply_citizen"), REPLY, people["market"], now)
    revisit = only_task(session, case, "revisit_citizen")
    with pytest.raises(InvalidInput) as caught:
        complete(session, revisit, {"satisfaction": "不满意", "decision": "redo"}, people["operator"], now)
    assert "remark" in (caught.value.details or {})
    redo = {"satisfaction": "不满意", "decision": "redo", "remark": "商户未退款"}
    complete(session, revisit, redo, people["operator"], now)
    redo_task = only_task(session, case, "handle_order")
    assert candidates(redo_task) == ("approver", "market")
    _close(session, case, people, now)
    session.refresh(case)
    assert case.status == "completed"
    assert done_steps(session, case).count("handle_order") == 2
