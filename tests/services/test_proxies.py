"""Vacation proxies (代理)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.models import Opinion, User
from app.services.cases import complete_task, open_tasks
from app.services.errors import Conflict, InvalidInput, PermissionDenied
from app.services.operations import claim_task
from app.services.proxies import ON_BEHALF, behalf_label, cancel_proxy, set_proxy
from app.services.task_lists import TaskFilters, list_tasks
from tests.factories import create_user
from tests.services.workspace import accept_intake, make_people, new_case, task_named

DAY = timedelta(days=1)


@pytest.fixture
def people(session: Session, now: datetime) -> dict[str, User]:
    return make_people(session, now)


def _todo(session: Session, user: User, now: datetime) -> list[int | None]:
    return [r.task_id for r in list_tasks(session, user, "todo", TaskFilters(), 1, 50, now).items]


def test_open_tasks_move_and_opinions_are_on_behalf(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = new_case(session, people, now)
    accept_intake(session, case, people, now)
    review = claim_task(session, task_named(session, case, "review").id, people["market"], now)
    set_proxy(
        session, people["market"].id, people["market2"].id, now - DAY, now + DAY, None, people["market"], now
    )
    assert review.assignee_id == people["market2"].id and review.properties[ON_BEHALF] == str(
        people["market"].id
    )
    assert _todo(session, people["market"], now) == [review.id]  # the principal still sees it
    assert _todo(session, people["market2"], now) == [review.id]
    complete_task(
        session, review.id, {"review_decision": "accept", "opinion": "同意"}, people["market2"], now
    )
    opinion = session.scalars(select(Opinion).where(Opinion.human_task_id == review.id)).one()
    assert opinion.author_id == people["market2"].id and opinion.on_behalf_of_id == people["market"].id
    assert behalf_label("市场审查二", "市场审查") == "市场审查二 (代 市场审查)"


def test_new_personal_and_single_holder_tasks_go_to_the_substitute(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    set_proxy(
        session, people["leader"].id, people["head"].id, now - DAY, now + DAY, None, people["leader"], now
    )
    case = new_case(session, people, now)
    accept_intake(session, case, people, now)
    complete_task(
        session, task_named(session, case, "review").id, {"review_decision": "accept"}, people["market"], now
    )
    decide = task_named(session, case, "decide")  # only one leader: routed to the substitute
    assert decide.assignee_id == people["head"].id and decide.properties[ON_BEHALF] == str(
        people["leader"].id
    )


def test_role_tasks_with_several_holders_stay_claimable(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    set_proxy(
        session, people["market"].id, people["head"].id, now - DAY, now + DAY, None, people["market"], now
    )
    case = new_case(session, people, now)
    accept_intake(session, case, people, now)
    assert task_named(session, case, "review").assignee_id is None  # market2 can still claim it


def test_expired_rule_routes_to_the_principal_again(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    set_proxy(
        session, people["leader"].id, people["head"].id, now - 3 * DAY, now - DAY, None, people["leader"], now
    )
    case = new_case(session, people, now)
    accept_intake(session, case, people, now)
    complete_task(
        session, task_named(session, case, "review").id, {"review_decision": "accept"}, people["market"], now
    )
    assert task_named(session, case, "decide").assignee_id is None


def test_future_rule_lets_the_substitute_act_while_active(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = new_case(session, people, now)
    accept_intake(session, case, people, now)
    review = claim_task(session, task_named(session, case, "review").id, people["market"], now)
    set_proxy(
        session,
        people["market"].id,
        people["market2"].id,
        now + DAY,
        now + 3 * DAY,
        None,
        people["market"],
        now,
    )
    assert review.assignee_id == people["market"].id  # nothing moved yet
    with pytest.raises(PermissionDenied):
        complete_task(session, review.id, {"review_decision": "accept"}, people["market2"], now)
    later = now + 2 * DAY
    assert _todo(session, people["market2"], later) == [review.id]
    complete_task(session, review.id, {"review_decision": "accept"}, people["market2"], later)
    opinion = session.scalars(select(Opinion).where(Opinion.human_task_id == review.id)).one()
    assert opinion.on_behalf_of_id == people["market"].id


def test_cancel_gives_moved_tasks_back(session: Session, people: dict[str, User], now: datetime) -> None:
    case = new_case(session, people, now)
    accept_intake(session, case, people, now)
    review = claim_task(session, task_named(session, case, "review").id, people["market"], now)
    rule = set_proxy(
        session,
        people["market"].id,
        people["market2"].id,
        now,
        now + DAY,
        "mini_parallel",
        people["market"],
        now,
    )
    assert review.assignee_id == people["market2"].id
    with pytest.raises(PermissionDenied):
        cancel_proxy(session, rule.id, people["fire"], now)
    cancel_proxy(session, rule.id, people["market"], now)
    assert review.assignee_id == people["market"].id and ON_BEHALF not in review.properties
    with pytest.raises(Conflict):
        cancel_proxy(session, rule.id, people["market"], now)
    assert [t.id for t in open_tasks(session, case)] == [review.id]


def test_proxy_validation(session: Session, people: dict[str, User], now: datetime) -> None:
    market, other = people["market"], people["market2"]
    with pytest.raises(PermissionDenied):
        set_proxy(session, market.id, other.id, now, now + DAY, None, people["fire"], now)
    with pytest.raises(InvalidInput):
        set_proxy(session, market.id, market.id, now, now + DAY, None, market, now)
    with pytest.raises(InvalidInput):
        set_proxy(session, market.id, people["applicant"].id, now, now + DAY, None, market, now)
    with pytest.raises(InvalidInput):
        set_proxy(session, market.id, other.id, now + DAY, now, None, market, now)
    set_proxy(session, market.id, other.id, now, now + DAY, None, market, now)
    with pytest.raises(Conflict):
        set_proxy(session, market.id, people["head"].id, now, now + DAY, None, market, now)
    with pytest.raises(Conflict):  # no pointing back
        set_proxy(session, other.id, market.id, now, now + DAY, None, other, now)
    admin = create_user(session, now, roles=[("admin", None)])
    set_proxy(session, people["fire"].id, other.id, now, now + DAY, None, admin, now)


def test_the_rule_check_rides_on_the_lock_and_sees_rules_of_this_process_only(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = new_case(session, people, now)
    accept_intake(session, case, people, now)
    set_proxy(
        session,
        people["leader"].id,
        people["head"].id,
        now - DAY,
        now + DAY,
        "another",
        people["leader"],
        now,
    )
    seen: list[str] = []

    def listener(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = session.get_bind().engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        complete_task(
            session,
            task_named(session, case, "review").id,
            {"review_decision": "accept"},
            people["market"],
            now,
        )
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert task_named(session, case, "decide").assignee_id is None  # the rule is for another process
    assert not [s for s in seen if s.lstrip().upper().startswith("SELECT PROXY_RULE")]  # no lookup at all
    assert any(
        "proxy_rule" in s for s in seen if s.lstrip().upper().startswith("SELECT")
    )  # asked in the lock


def test_a_rule_for_the_process_of_the_case_routes_its_new_tasks(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = new_case(session, people, now)
    accept_intake(session, case, people, now)
    process_id = case.process_version.process_id
    set_proxy(
        session,
        people["leader"].id,
        people["head"].id,
        now - DAY,
        now + DAY,
        process_id,
        people["leader"],
        now,
    )
    complete_task(
        session, task_named(session, case, "review").id, {"review_decision": "accept"}, people["market"], now
    )
    assert task_named(session, case, "decide").assignee_id == people["head"].id
