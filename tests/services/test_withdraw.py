"""撤回: withdraw my last completion while the next step is untouched."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Notification, User
from app.services.cases import complete_task, open_tasks
from app.services.errors import Conflict, PermissionDenied
from app.services.operations import claim_task, withdraw_completion
from tests.services.workspace import accept_intake, make_people, new_case, task_named


@pytest.fixture
def people(session: Session, now: datetime) -> dict[str, User]:
    return make_people(session, now)


def test_withdraw_reopens_my_task_and_cancels_the_next(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = new_case(session, people, now)
    intake = accept_intake(session, case, people, now)
    review = task_named(session, case, "review")
    reopened = withdraw_completion(session, intake.id, people["clerk"], now)
    assert reopened.bpmn_id == "intake" and reopened.assignee_id == people["clerk"].id
    assert intake.state == "withdrawn"
    session.refresh(review)
    assert review.state == "cancelled"
    assert [t.id for t in open_tasks(session, case)] == [reopened.id]
    notes = session.scalars(select(Notification).where(Notification.kind == "task.withdrawn")).all()
    assert {n.user_id for n in notes} == {people["market"].id, people["market2"].id}
    complete_task(session, reopened.id, {"decision": "accept"}, people["clerk"], now)  # and on again
    assert [t.bpmn_id for t in open_tasks(session, case)] == ["review"]


def test_withdraw_after_the_next_handler_claimed_names_them(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = new_case(session, people, now)
    intake = accept_intake(session, case, people, now)
    claim_task(session, task_named(session, case, "review").id, people["market"], now)
    with pytest.raises(Conflict) as caught:
        withdraw_completion(session, intake.id, people["clerk"], now)
    assert caught.value.details == {"acted_by": ["市场审查"]}
    assert "市场审查" in caught.value.message


def test_withdraw_after_the_next_step_completed_is_refused(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = new_case(session, people, now)
    intake = accept_intake(session, case, people, now)
    review = task_named(session, case, "review")
    complete_task(session, review.id, {"review_decision": "accept"}, people["market"], now)
    with pytest.raises(Conflict) as caught:
        withdraw_completion(session, intake.id, people["clerk"], now)
    assert caught.value.details == {"acted_by": ["市场审查"]}


def test_only_the_completer_may_withdraw_and_only_once(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = new_case(session, people, now)
    intake = accept_intake(session, case, people, now)
    with pytest.raises(PermissionDenied):
        withdraw_completion(session, intake.id, people["clerk2"], now)
    withdraw_completion(session, intake.id, people["clerk"], now)
    with pytest.raises(Conflict):
        withdraw_completion(session, intake.id, people["clerk"], now)


def test_withdraw_of_an_open_task_is_a_conflict(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = new_case(session, people, now)
    [intake] = open_tasks(session, case)
    with pytest.raises(PermissionDenied):  # nobody completed it: not "my completion"
        withdraw_completion(session, intake.id, people["clerk"], now)


def test_withdraw_of_one_parallel_instance_that_created_nothing_is_refused(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = new_case(session, people, now, departments=["market", "fire"])
    accept_intake(session, case, people, now)
    market = next(t for t in open_tasks(session, case) if t.candidate_department == "market")
    complete_task(session, market.id, {"review_decision": "accept"}, people["market"], now)
    with pytest.raises(Conflict):
        withdraw_completion(session, market.id, people["market"], now)
