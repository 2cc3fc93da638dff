"""退回, claim and unclaim through the service layer."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Case, Opinion, User
from app.services.cases import complete_task, open_tasks, start_case
from app.services.errors import Conflict, InvalidInput, PermissionDenied, TaskAlreadyHandled
from app.services.operations import claim_task, return_task, unclaim_task
from tests.factories import create_user
from tests.services.helpers import deploy_fixture

RETURNABLE = {
    '<spiffworkflow:property name="opinionRequired" value="true" />': (
        '<spiffworkflow:property name="opinionRequired" value="true" />'
        '<spiffworkflow:property name="returnTargets" value="intake,review" />'
    )
}


@pytest.fixture
def people(session: Session, now: datetime) -> dict[str, User]:
    return {
        "clerk": create_user(session, now, roles=[("clerk", "approval")]),
        "clerk2": create_user(session, now, roles=[("clerk", "approval")]),
        "leader": create_user(session, now, roles=[("leader", "gxq")]),
        "market": create_user(session, now, roles=[("approver", "market")]),
    }


def _at_decision(session: Session, people: dict[str, User], now: datetime) -> Case:
    deploy_fixture(session, "mini_parallel", now, replace=RETURNABLE)
    case = start_case(session, "mini_parallel", {"departments": ["market"]}, people["clerk"], now)
    [intake] = open_tasks(session, case)
    complete_task(session, intake.id, {"decision": "accept"}, people["clerk"], now)
    [review] = open_tasks(session, case)
    complete_task(session, review.id, {"review_decision": "accept"}, people["market"], now)
    return case


def test_return_to_intake_reopens_it_and_keeps_history(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _at_decision(session, people, now)
    [decide] = open_tasks(session, case)
    return_task(session, decide.id, "intake", "申请表签字缺失", people["leader"], now)
    [again] = open_tasks(session, case)
    assert again.bpmn_id == "intake" and again.state == "open"
    assert decide.state == "returned"
    opinion = session.scalars(select(Opinion).where(Opinion.decision == "return")).one()
    assert opinion.text == "申请表签字缺失" and opinion.author_id == people["leader"].id
    complete_task(session, again.id, {"decision": "accept"}, people["clerk"], now)  # resubmission
    assert [t.bpmn_id for t in open_tasks(session, case)] == ["review"]


def test_return_needs_an_allowed_target_and_a_reason(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _at_decision(session, people, now)
    [decide] = open_tasks(session, case)
    with pytest.raises(InvalidInput) as caught:
        return_task(session, decide.id, "issue", "不行", people["leader"], now)
    assert caught.value.details == {"allowed": ["intake", "review"]}
    with pytest.raises(InvalidInput):
        return_task(session, decide.id, "intake", "  ", people["leader"], now)
    with pytest.raises(PermissionDenied):
        return_task(session, decide.id, "intake", "理由", people["clerk"], now)
    return_task(session, decide.id, "intake", "理由", people["leader"], now)
    with pytest.raises(TaskAlreadyHandled):
        return_task(session, decide.id, "intake", "理由", people["leader"], now)


def test_fifty_return_loops_keep_the_state_bounded(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _at_decision(session, people, now)
    sizes = []
    for _ in range(50):
        [decide] = open_tasks(session, case)
        return_task(session, decide.id, "intake", "再核", people["leader"], now)
        [intake] = open_tasks(session, case)
        complete_task(session, intake.id, {"decision": "accept"}, people["clerk"], now)
        [review] = open_tasks(session, case)
        complete_task(session, review.id, {"review_decision": "accept"}, people["market"], now)
        sizes.append(len(case.state))
    assert max(sizes) <= sizes[0] * 1.2, sizes  # reset prunes the task tree: no growth with history


def test_claim_and_unclaim(session: Session, people: dict[str, User], now: datetime) -> None:
    deploy_fixture(session, "mini_parallel", now)
    case = start_case(session, "mini_parallel", {"departments": ["market"]}, people["clerk"], now)
    [intake] = open_tasks(session, case)
    claim_task(session, intake.id, people["clerk"], now)
    with pytest.raises(PermissionDenied):
        claim_task(session, intake.id, people["clerk2"], now)
    assert intake.assignee_id == people["clerk"].id
    unclaim_task(session, intake.id, people["clerk"], now)
    assert intake.assignee_id is None
    with pytest.raises(Conflict):  # nothing to release any more
        unclaim_task(session, intake.id, people["clerk"], now)
    claim_task(session, intake.id, people["clerk2"], now)  # offered to every clerk again
    assert intake.assignee_id == people["clerk2"].id
