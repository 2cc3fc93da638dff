"""撤回: withdraw my last completion while the next step is untouched."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.models import Notification, User
from app.services.cases import complete_task, open_tasks
from app.services.errors import Conflict, PermissionDenied
from app.services.operations import claim_task, urge_task, withdraw_completion
from app.services.task_lists import list_tasks
from app.services.task_rows import TaskFilters
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


def _done_rows(session: Session, user: User, now: datetime) -> dict[int, bool]:
    page = list_tasks(session, user, "done", TaskFilters(), 1, 50, now)
    return {row.task_id: row.withdrawable for row in page.items if row.task_id is not None}


def test_the_done_list_flags_exactly_the_completions_withdraw_accepts(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    untouched = accept_intake(session, new_case(session, people, now), people, now)
    claimed_case = new_case(session, people, now)
    claimed = accept_intake(session, claimed_case, people, now)
    claim_task(session, task_named(session, claimed_case, "review").id, people["market"], now)
    handled_case = new_case(session, people, now)
    handled = accept_intake(session, handled_case, people, now)
    review = task_named(session, handled_case, "review")
    complete_task(session, review.id, {"review_decision": "accept"}, people["market"], now)
    withdrawn_case = new_case(session, people, now)
    withdrawn = accept_intake(session, withdrawn_case, people, now)
    again = withdraw_completion(session, withdrawn.id, people["clerk"], now)
    complete_task(session, again.id, {"decision": "accept"}, people["clerk"], now)
    urged_case = new_case(session, people, now)  # a reminder to the next handler is not their action
    urged = accept_intake(session, urged_case, people, now)
    urge_task(session, task_named(session, urged_case, "review").id, "", people["leader"], now)
    flags = _done_rows(session, people["clerk"], now)
    assert flags == {
        untouched.id: True,
        claimed.id: False,
        handled.id: False,
        withdrawn.id: False,
        again.id: True,
        urged.id: True,
    }
    for task_id, flag in flags.items():  # the service agrees row by row
        with session.begin_nested() as attempt:
            try:
                withdraw_completion(session, task_id, people["clerk"], now)
                accepted = True
            except Conflict:
                accepted = False
            attempt.rollback()
        assert accepted is flag, task_id
    assert _done_rows(session, people["market"], now) == {review.id: True}  # 领导决定 is still untouched


def test_the_done_list_checks_its_page_in_a_fixed_number_of_queries(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    accept_intake(session, new_case(session, people, now), people, now)
    statements: list[str] = []
    engine = session.get_bind()

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    def done_queries() -> int:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            list_tasks(session, people["clerk"], "done", TaskFilters(), 1, 20, now)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    one = done_queries()
    for _ in range(4):
        case = new_case(session, people, now)
        accept_intake(session, case, people, now)
        claim_task(session, task_named(session, case, "review").id, people["market"], now)
    assert done_queries() == one == 2 + 5, statements  # count, page; the rule: 5 queries for the page
