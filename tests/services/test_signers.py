"""加签 / 减签."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import HumanTask, Notification, Opinion, User
from app.services.cases import complete_task, open_tasks
from app.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from app.services.operations import return_task
from app.services.signers import add_signer, remove_signer
from tests.services.test_operations import RETURNABLE
from tests.services.workspace import accept_intake, make_people, new_case, task_named


@pytest.fixture
def people(session: Session, now: datetime) -> dict[str, User]:
    return make_people(session, now)


def test_added_signer_must_answer_before_the_task_completes(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = new_case(session, people, now)
    accept_intake(session, case, people, now)
    review = task_named(session, case, "review")
    row = add_signer(session, review.id, people["head"].id, people["market"], now, note="请会签")
    assert row.assignee_id == people["head"].id and row.name == "部门审查（加签）"
    with pytest.raises(Conflict) as caught:
        complete_task(session, review.id, {"review_decision": "accept"}, people["market"], now)
    assert caught.value.message.startswith("等待加签人意见") and caught.value.details == {
        "pending": ["市场科长"]
    }
    with pytest.raises(Conflict):
        add_signer(session, review.id, people["head"].id, people["market"], now)
    with pytest.raises(InvalidInput):
        complete_task(session, row.id, {}, people["head"], now)
    complete_task(session, row.id, {"opinion": "同意", "decision": "agree"}, people["head"], now)
    assert row.state == "completed"
    opinion = session.scalars(select(Opinion).where(Opinion.human_task_id == row.id)).one()
    assert opinion.decision == "agree"
    assert session.scalars(select(Notification).where(Notification.kind == "task.countersigned")).all()
    complete_task(session, review.id, {"review_decision": "accept"}, people["market"], now)
    assert [t.bpmn_id for t in open_tasks(session, case)] == ["decide"]


def test_department_signer_is_offered_to_its_approvers(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = new_case(session, people, now)
    accept_intake(session, case, people, now)
    review = task_named(session, case, "review")
    row = add_signer(session, review.id, "fire", people["market"], now)
    assert (row.candidate_role, row.candidate_department, row.assignee_id) == ("approver", "fire", None)
    with pytest.raises(NotFound):
        add_signer(session, review.id, "nowhere", people["market"], now)
    with pytest.raises(PermissionDenied):
        complete_task(session, row.id, {"opinion": "同意"}, people["market2"], now)
    complete_task(session, row.id, {"opinion": "消防无意见"}, people["fire"], now)
    assert row.completed_by_id == people["fire"].id


def test_remove_signer_cancels_the_countersign(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = new_case(session, people, now)
    accept_intake(session, case, people, now)
    review = task_named(session, case, "review")
    row = add_signer(session, review.id, people["head"].id, people["market"], now)
    with pytest.raises(PermissionDenied):
        remove_signer(session, row.id, people["fire"], now)
    remove_signer(session, row.id, people["market"], now, reason="不需要了")
    assert row.state == "cancelled"
    complete_task(session, review.id, {"review_decision": "accept"}, people["market"], now)


def test_remove_one_instance_of_a_parallel_step(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = new_case(session, people, now, departments=["market", "fire"])
    accept_intake(session, case, people, now)
    fire = next(t for t in open_tasks(session, case) if t.candidate_department == "fire")
    with pytest.raises(PermissionDenied):
        remove_signer(session, fire.id, people["market"], now, reason="无关")
    with pytest.raises(InvalidInput):
        remove_signer(session, fire.id, people["leader"], now)
    remove_signer(session, fire.id, people["leader"], now, reason="不涉及消防")
    assert (fire.state, fire.decision) == ("completed", "removed")
    [last] = open_tasks(session, case)
    with pytest.raises(Conflict):  # the last instance cannot be removed
        remove_signer(session, last.id, people["leader"], now, reason="x")
    complete_task(session, last.id, {"review_decision": "accept"}, people["market"], now)
    assert [t.bpmn_id for t in open_tasks(session, case)] == ["decide"]


def test_return_cancels_open_countersigns(session: Session, people: dict[str, User], now: datetime) -> None:
    case = new_case(session, people, now, replace=RETURNABLE)
    accept_intake(session, case, people, now)
    complete_task(
        session, task_named(session, case, "review").id, {"review_decision": "accept"}, people["market"], now
    )
    decide = task_named(session, case, "decide")
    row = add_signer(session, decide.id, people["head"].id, people["leader"], now)
    return_task(session, decide.id, "intake", "补材料", people["leader"], now)
    session.expire_all()
    cancelled = session.get(HumanTask, row.id)
    assert cancelled is not None and cancelled.state == "cancelled"
