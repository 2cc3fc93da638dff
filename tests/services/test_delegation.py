"""转办 and 委派."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Notification, Opinion, User
from app.services.cases import complete_task, open_tasks
from app.services.delegation import delegate_task, recall_delegation, transfer_task
from app.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied, TaskAlreadyHandled
from app.services.operations import claim_task
from tests.factories import create_user
from tests.services.workspace import accept_intake, make_people, new_case, task_named


@pytest.fixture
def people(session: Session, now: datetime) -> dict[str, User]:
    return make_people(session, now)


def test_transfer_to_a_colleague_of_the_same_role(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = new_case(session, people, now)
    accept_intake(session, case, people, now)
    review = task_named(session, case, "review")
    transfer_task(session, review.id, people["market2"].id, "出差，请代办", people["market"], now)
    assert review.assignee_id == people["market2"].id
    with pytest.raises(PermissionDenied):
        complete_task(session, review.id, {"review_decision": "accept"}, people["market"], now)
    complete_task(session, review.id, {"review_decision": "accept"}, people["market2"], now)
    opinion = session.scalars(select(Opinion).where(Opinion.decision == "transfer")).one()
    assert "出差" in opinion.text and opinion.author_id == people["market"].id
    note = session.scalars(select(Notification).where(Notification.kind == "task.transferred")).one()
    assert note.user_id == people["market2"].id and note.link == f"/tasks/{review.id}"


def test_transfer_target_must_hold_the_role_in_the_department(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = new_case(session, people, now)
    accept_intake(session, case, people, now)
    review = task_named(session, case, "review")
    with pytest.raises(InvalidInput):
        transfer_task(session, review.id, people["fire"].id, "理由", people["market"], now)
    with pytest.raises(InvalidInput):
        transfer_task(session, review.id, people["market2"].id, "  ", people["market"], now)
    with pytest.raises(NotFound):
        transfer_task(session, review.id, 999999, "理由", people["market"], now)
    with pytest.raises(PermissionDenied):
        transfer_task(session, review.id, people["market2"].id, "理由", people["fire"], now)


def test_leaders_may_transfer_across_departments(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = new_case(session, people, now)
    accept_intake(session, case, people, now)
    complete_task(
        session, task_named(session, case, "review").id, {"review_decision": "accept"}, people["market"], now
    )
    other_leader = create_user(session, now, roles=[("leader", "zwb")])
    decide = task_named(session, case, "decide")
    transfer_task(session, decide.id, other_leader.id, "分管调整", people["leader"], now)
    assert decide.assignee_id == other_leader.id


def test_delegate_answers_then_owner_completes(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = new_case(session, people, now)
    accept_intake(session, case, people, now)
    review = task_named(session, case, "review")
    delegate_task(session, review.id, people["head"].id, "请科长把关", people["market"], now)
    assert (review.assignee_id, review.owner_id) == (people["head"].id, people["market"].id)
    with pytest.raises(Conflict):
        delegate_task(session, review.id, people["market2"].id, "", people["head"], now)
    with pytest.raises(InvalidInput):  # the delegate must give an opinion
        complete_task(session, review.id, {}, people["head"], now)
    done = complete_task(session, review.id, {"opinion": "<b>同意</b>，材料齐全"}, people["head"], now)
    assert done.new_tasks == () and review.state == "open"
    assert (review.assignee_id, review.owner_id) == (people["market"].id, None)
    opinion = session.scalars(select(Opinion).where(Opinion.author_id == people["head"].id)).one()
    assert opinion.on_behalf_of_id == people["market"].id and opinion.text == "<b>同意</b>，材料齐全"
    complete_task(session, review.id, {"review_decision": "accept"}, people["market"], now)
    assert [t.bpmn_id for t in open_tasks(session, case)] == ["decide"]


def test_delegation_rules(session: Session, people: dict[str, User], now: datetime) -> None:
    case = new_case(session, people, now)
    [intake] = open_tasks(session, case)
    claim_task(session, intake.id, people["clerk"], now)
    with pytest.raises(InvalidInput):
        delegate_task(session, intake.id, people["applicant"].id, "", people["clerk"], now)
    with pytest.raises(InvalidInput):
        delegate_task(session, intake.id, people["clerk"].id, "", people["clerk"], now)
    with pytest.raises(PermissionDenied):
        delegate_task(session, intake.id, people["head"].id, "", people["clerk2"], now)
    delegate_task(session, intake.id, people["head"].id, "", people["clerk"], now)
    with pytest.raises(PermissionDenied):
        recall_delegation(session, intake.id, people["clerk2"], now)
    recall_delegation(session, intake.id, people["clerk"], now)
    assert (intake.assignee_id, intake.owner_id) == (people["clerk"].id, None)
    with pytest.raises(Conflict):
        recall_delegation(session, intake.id, people["clerk"], now)
    complete_task(session, intake.id, {"decision": "accept"}, people["clerk"], now)
    with pytest.raises(TaskAlreadyHandled):
        transfer_task(session, intake.id, people["clerk2"].id, "理由", people["clerk"], now)
