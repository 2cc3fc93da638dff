"""Vacation proxies (代理)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from app.models import AuditEvent, HumanTask, Notification, Opinion, ProxyRule, User
from app.scheduler import job_by_name
from app.services.cases import complete_task, open_tasks
from app.services.delegation import delegate_task, recall_delegation, transfer_task
from app.services.errors import Conflict, InvalidInput, PermissionDenied
from app.services.operations import claim_task
from app.services.proxies import ON_BEHALF, behalf_label
from app.services.proxy_settings import cancel_proxy, set_proxy
from app.services.task_lists import list_tasks
from app.services.task_rows import TaskFilters
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
    [told] = _notes(session, people["market2"], "proxy.set")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d 至 \d{4}-\d\d-\d\d \d\d:\d\d；已转来 1 件待办。", told), (
        told
    )
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


# ---- the proxy_rules job: the rule takes effect and reverts by itself ----------------------------------

NOTHING = "started=0 ended=0 moved=0 returned=0 unfinished=0 failed=0"


def run_job(app: Flask, name: str, now: datetime) -> str:
    """The job from the scheduler table, in the test's app context (its session keeps the people)."""
    return job_by_name(name).run(now)


def _claimed_reviews(session: Session, people: dict[str, User], now: datetime, count: int) -> list[int]:
    """`count` market review tasks claimed by `market` (ids: the job's commits expire the objects)."""
    ids = []
    for _ in range(count):
        case = new_case(session, people, now)
        accept_intake(session, case, people, now)
        ids.append(claim_task(session, task_named(session, case, "review").id, people["market"], now).id)
    return ids


def _task(session: Session, task_id: int) -> HumanTask:
    task = session.get(HumanTask, task_id, populate_existing=True)
    assert task is not None
    return task


def _events(session: Session, action: str, task_id: int) -> int:
    rows = session.scalars(select(AuditEvent.detail).where(AuditEvent.action == action)).all()
    return sum(1 for detail in rows if detail.get("task_id") == task_id)


def _notes(session: Session, user: User, kind: str) -> list[str]:
    query = select(Notification.body).where(Notification.user_id == user.id, Notification.kind == kind)
    return list(session.scalars(query.order_by(Notification.id)))


def test_a_future_rule_moves_open_tasks_when_the_job_runs_at_its_start(
    app: Flask, session: Session, people: dict[str, User], now: datetime
) -> None:
    [review] = _claimed_reviews(session, people, now, 1)
    market, market2 = people["market"], people["market2"]
    rule = set_proxy(session, market.id, market2.id, now + DAY, now + 3 * DAY, None, market, now)
    rule_id = rule.id
    assert rule.applied_at is None and _task(session, review).assignee_id == market.id
    assert run_job(app, "proxy_rules", now + DAY - timedelta(seconds=1)) == NOTHING  # not yet
    assert _task(session, review).assignee_id == market.id
    start = now + DAY + timedelta(seconds=30)
    assert run_job(app, "proxy_rules", start) == (
        "started=1 ended=0 moved=1 returned=0 unfinished=0 failed=0"
    )
    task = _task(session, review)
    assert task.assignee_id == market2.id and task.properties[ON_BEHALF] == str(market.id)
    assert _events(session, "task.proxied", review) == 1
    assert _notes(session, market2, "proxy.started") == ["已转来 1 件待办，代理至 2026-11-26 09:30。"]
    assert session.get(ProxyRule, rule_id).applied_at == start  # type: ignore[union-attr]
    assert _todo(session, market, start) == [review]  # the principal still sees it
    assert run_job(app, "proxy_rules", start + timedelta(minutes=1)) == NOTHING  # the second run: nothing
    assert _events(session, "task.proxied", review) == 1
    assert len(_notes(session, market2, "proxy.started")) == 1
    complete_task(session, review, {"review_decision": "accept", "opinion": "同意"}, market2, start)
    opinion = session.scalars(select(Opinion).where(Opinion.human_task_id == review)).one()
    assert opinion.author_id == market2.id and opinion.on_behalf_of_id == market.id


def test_the_end_gives_untouched_tasks_back_and_leaves_handed_on_ones(
    app: Flask, session: Session, people: dict[str, User], now: datetime
) -> None:
    market, market2 = people["market"], people["market2"]
    market3 = create_user(session, now, roles=[("approver", "market")], display_name="市场审查三")
    untouched, transferred, out, answered, recalled = _claimed_reviews(session, people, now, 5)
    rule = set_proxy(session, market.id, market2.id, now - DAY, now + DAY, None, market, now)
    rule_id = rule.id
    assert rule.applied_at == now
    transfer_task(session, transferred, market3.id, "请代办", market2, now)
    delegate_task(session, out, people["head"].id, "请把关", market2, now)
    delegate_task(session, answered, people["head"].id, "请把关", market2, now)
    complete_task(session, answered, {"opinion": "可以"}, people["head"], now)
    delegate_task(session, recalled, people["head"].id, "请把关", market2, now)
    recall_delegation(session, recalled, market2, now)
    assert run_job(app, "proxy_rules", now + DAY - timedelta(seconds=1)) == NOTHING  # still active
    end = now + DAY + timedelta(seconds=5)
    assert run_job(app, "proxy_rules", end) == "started=0 ended=1 moved=0 returned=2 unfinished=0 failed=0"
    for task_id in (untouched, recalled):  # nothing handed on: back to the principal
        task = _task(session, task_id)
        assert task.assignee_id == market.id and ON_BEHALF not in task.properties
        assert _events(session, "task.proxy_returned", task_id) == 1
    assert _task(session, transferred).assignee_id == market3.id  # 转办: the new handler keeps it
    assert (_task(session, out).assignee_id, _task(session, out).owner_id) == (people["head"].id, market2.id)
    kept = _task(session, answered)  # 委派 answered: the substitute finishes it, on behalf of the principal
    assert kept.assignee_id == market2.id and kept.properties[ON_BEHALF] == str(market.id)
    assert session.get(ProxyRule, rule_id).reverted_at == end  # type: ignore[union-attr]
    assert _notes(session, market, "proxy.ended") == ["2 件待办已回到您的待办。"]
    assert _notes(session, market2, "proxy.ended") == ["2 件未处理的待办已交还 市场审查。"]
    todo = _todo(session, market, end)  # the principal sees the ones the substitute kept too
    assert len(todo) == 3 and set(todo) == {untouched, answered, recalled}
    assert _todo(session, market2, end) == [answered]
    assert run_job(app, "proxy_rules", end + timedelta(minutes=1)) == NOTHING
    complete_task(session, answered, {"review_decision": "accept"}, market2, end)
    opinion = session.scalars(
        select(Opinion).where(Opinion.human_task_id == answered, Opinion.author_id == market2.id)
    ).one()
    assert opinion.on_behalf_of_id == market.id
    with pytest.raises(PermissionDenied):  # the substitute's stand-in is over
        complete_task(session, untouched, {"review_decision": "accept"}, market2, end)
    complete_task(session, untouched, {"review_decision": "accept"}, market, end)


def test_tasks_routed_while_the_rule_lasts_go_back_at_its_end(
    app: Flask, session: Session, people: dict[str, User], now: datetime
) -> None:
    leader, head = people["leader"], people["head"]
    set_proxy(session, leader.id, head.id, now - DAY, now + DAY, None, leader, now)
    case = new_case(session, people, now)
    accept_intake(session, case, people, now)
    complete_task(
        session, task_named(session, case, "review").id, {"review_decision": "accept"}, people["market"], now
    )
    decide = task_named(session, case, "decide").id
    assert _task(session, decide).assignee_id == head.id
    assert run_job(app, "proxy_rules", now + DAY).startswith("started=0 ended=1 moved=0 returned=1 ")
    assert _task(session, decide).assignee_id == leader.id


def test_a_following_rule_keeps_or_hands_on_the_tasks(
    app: Flask, session: Session, people: dict[str, User], now: datetime
) -> None:
    market, market2, head = people["market"], people["market2"], people["head"]
    same, other = _claimed_reviews(session, people, now, 2)
    set_proxy(session, market.id, market2.id, now - DAY, now + DAY, None, market, now)
    set_proxy(session, market.id, market2.id, now + DAY, now + 2 * DAY, None, market, now)  # extended
    end = now + DAY
    assert run_job(app, "proxy_rules", end) == "started=1 ended=1 moved=0 returned=0 unfinished=0 failed=0"
    for task_id in (same, other):  # the same substitute: nothing changes hands
        assert _task(session, task_id).assignee_id == market2.id
        assert _events(session, "task.proxy_returned", task_id) == 0
    later = now + 2 * DAY
    set_proxy(session, market.id, head.id, later, later + DAY, None, market, now)  # then another one
    assert run_job(app, "proxy_rules", later) == "started=1 ended=1 moved=2 returned=0 unfinished=0 failed=0"
    for task_id in (same, other):  # handed on to the next substitute, still on behalf of the principal
        task = _task(session, task_id)
        assert task.assignee_id == head.id and task.properties[ON_BEHALF] == str(market.id)
    assert _notes(session, head, "proxy.started") == ["已转来 2 件待办。"]
    todo = _todo(session, market, later)
    assert len(todo) == 2 and set(todo) == {same, other}


def test_cancel_before_the_start_moves_nothing_and_the_job_leaves_it(
    app: Flask, session: Session, people: dict[str, User], now: datetime
) -> None:
    [review] = _claimed_reviews(session, people, now, 1)
    market, market2 = people["market"], people["market2"]
    rule = set_proxy(session, market.id, market2.id, now + DAY, now + 2 * DAY, None, market, now)
    cancel_proxy(session, rule.id, market, now)
    assert rule.reverted_at == now
    assert run_job(app, "proxy_rules", now + DAY) == NOTHING
    assert _task(session, review).assignee_id == market.id


def test_a_rule_of_another_process_moves_nothing_at_its_start(
    app: Flask, session: Session, people: dict[str, User], now: datetime
) -> None:
    [review] = _claimed_reviews(session, people, now, 1)
    market, market2 = people["market"], people["market2"]
    set_proxy(session, market.id, market2.id, now + DAY, now + 2 * DAY, "another", market, now)
    assert run_job(app, "proxy_rules", now + DAY).startswith("started=1 ended=0 moved=0 ")
    assert _task(session, review).assignee_id == market.id
    count = session.scalar(
        select(func.count()).select_from(ProxyRule).where(ProxyRule.applied_at.is_not(None))
    )
    assert count == 1
