"""To-do lists: views, filters, badges, order, pagination, counts, constant query count."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.models import Case, HumanTask, User
from app.services.cases import complete_task, open_tasks
from app.services.errors import InvalidInput
from app.services.operations import claim_task
from app.services.proxy_settings import set_proxy
from app.services.task_counts import count_tasks
from app.services.task_lists import list_tasks, tasks_with_counts
from app.services.task_rows import TaskFilters, due_badge
from tests.factories import create_user
from tests.services.workspace import accept_intake, make_people, new_case, task_named


@pytest.fixture
def people(session: Session, now: datetime) -> dict[str, User]:
    return make_people(session, now)


def test_views_follow_the_task_through_its_life(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = new_case(session, people, now, title="食品经营许可")
    case.data = {"urgency": "加急"}
    [intake] = open_tasks(session, case)
    [row] = list_tasks(session, people["clerk"], "claimable", TaskFilters(), 1, 20, now).items
    assert (row.task_id, row.case_number, row.title, row.step_name) == (
        intake.id,
        case.number,
        "食品经营许可",
        "窗口受理",
    )
    assert (
        row.applicant == "窗口甲"
        and row.urgency == "加急"
        and row.working_days_left == 2
        and row.badge == "green"
    )
    assert list_tasks(session, people["market"], "claimable", TaskFilters(), 1, 20, now).total == 0
    claim_task(session, intake.id, people["clerk"], now)
    assert list_tasks(session, people["clerk2"], "claimable", TaskFilters(), 1, 20, now).total == 0
    [mine] = list_tasks(session, people["clerk"], "todo", TaskFilters(), 1, 20, now).items
    assert mine.assignee == "窗口甲"
    complete_task(session, intake.id, {"decision": "accept"}, people["clerk"], now)
    [done] = list_tasks(session, people["clerk"], "done", TaskFilters(), 1, 20, now).items
    assert done.task_id == intake.id and done.decision == "accept" and done.state == "completed"
    assert count_tasks(session, people["clerk"], now) == {"todo": 0, "claimable": 0, "done": 1, "cc": 0}
    assert count_tasks(session, people["market"], now)["claimable"] == 1


def test_filters_and_search(session: Session, people: dict[str, User], now: datetime) -> None:
    first = new_case(session, people, now, title="食品经营许可")
    new_case(session, people, now, title="建设工程规划")
    clerk = people["clerk"]
    assert list_tasks(session, clerk, "claimable", TaskFilters(q="食品"), 1, 20, now).total == 1
    assert list_tasks(session, clerk, "claimable", TaskFilters(q=first.number), 1, 20, now).total == 1
    assert list_tasks(session, clerk, "claimable", TaskFilters(q="100%"), 1, 20, now).total == 0
    assert list_tasks(session, clerk, "claimable", TaskFilters(process_id="nope"), 1, 20, now).total == 0
    assert (
        list_tasks(session, clerk, "claimable", TaskFilters(process_id="mini_parallel"), 1, 20, now).total
        == 2
    )
    assert list_tasks(session, clerk, "claimable", TaskFilters(item_code="X1"), 1, 20, now).total == 0
    day = now.date()
    assert (
        list_tasks(session, clerk, "claimable", TaskFilters(date_from=day, date_to=day), 1, 20, now).total
        == 2
    )
    later = TaskFilters(date_from=day + timedelta(days=1))
    assert list_tasks(session, clerk, "claimable", later, 1, 20, now).total == 0
    page = list_tasks(session, clerk, "claimable", TaskFilters(), 2, 1, now)
    assert (page.total, page.pages, len(page.items)) == (2, 2, 1)
    with pytest.raises(InvalidInput):
        list_tasks(session, clerk, "everything", TaskFilters(), 1, 20, now)


def test_due_state_filters_and_badges(session: Session, people: dict[str, User], now: datetime) -> None:
    new_case(session, people, now)  # intake: 2 working days, due Wed 25 Nov end of day
    clerk = people["clerk"]
    for moment, state, badge in [
        (now, "ok", "green"),
        (now + timedelta(days=1), "warning", "yellow"),  # Tuesday: 1 working day left
        (now + timedelta(days=3), "overdue", "red"),
    ]:
        rows = list_tasks(session, clerk, "claimable", TaskFilters(due_state=state), 1, 20, moment).items  # type: ignore[arg-type]
        assert [r.badge for r in rows] == [badge], (moment, state)
    assert list_tasks(session, clerk, "claimable", TaskFilters(due_state="overdue"), 1, 20, now).total == 0


def test_badge_rules() -> None:
    start = datetime(2026, 11, 23, 9, 0).astimezone()
    due = datetime(2026, 12, 4, 23, 59).astimezone()  # 9 working days later
    assert due_badge(start, None, start) == ("green", None)
    assert due_badge(start, due, start)[0] == "green"
    assert due_badge(start, due, start + timedelta(days=10))[0] == "yellow"  # ≥ 80 % used
    assert due_badge(start, due, due + timedelta(minutes=5))[0] == "red"


def test_most_urgent_first_and_constant_queries(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    for _ in range(3):
        case = new_case(session, people, now)
        accept_intake(session, case, people, now)
    slow = new_case(session, people, now)
    [slow_intake] = open_tasks(session, slow)
    rows = list_tasks(session, people["market"], "claimable", TaskFilters(), 1, 20, now).items
    assert [r.step_name for r in rows] == ["部门审查"] * 3
    statements: list[str] = []
    engine = session.get_bind()

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        list_tasks(session, people["clerk"], "done", TaskFilters(), 1, 20, now)
        done_queries = len(statements)
        statements.clear()
        list_tasks(session, people["market"], "claimable", TaskFilters(), 1, 20, now)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # count and page each, no proxy rules read (only the to-do view depends on them); the done page also
    # checks the 撤回 rule for its rows, in five queries whatever their number (test_withdraw)
    assert done_queries == 2 + 5 and len(statements) == 2, statements
    assert task_named(session, slow, "intake").id == slow_intake.id


def _task(
    session: Session, case: Case, role: str, department: str | None, due: datetime | None, **kw: Any
) -> int:
    """A task row offered to (role, department), open unless `state` says otherwise."""
    task = HumanTask(
        case_id=case.id,
        task_uuid=str(uuid.uuid4()),
        bpmn_id="review",
        name=f"{role}/{department}",
        candidate_role=role,
        candidate_department=department,
        properties={},
        state=kw.pop("state", "open"),
        created_at=kw.pop("created_at"),
        due_at=due,
        **kw,
    )
    session.add(task)
    session.flush()
    return task.id


def _claimable_by_definition(session: Session, actor: User, case: Case) -> list[int]:
    """The claimable rule read literally (open, unassigned, a non-applicant membership's role in no
    department or the membership's department), in due order, nulls last, then id."""
    memberships = [(m.role.code, m.department_code) for m in actor.memberships if m.role.code != "applicant"]
    tasks = session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).all()
    wanted = [
        t
        for t in tasks
        if t.state == "open"
        and t.assignee_id is None
        and any(
            t.candidate_role == role and t.candidate_department in (None, department)
            for role, department in memberships
        )
    ]
    wanted.sort(key=lambda t: (t.due_at is None, t.due_at or t.created_at, t.id))
    return [t.id for t in wanted]


def test_claimable_is_the_union_of_role_and_department_pairs(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    actor = create_user(
        session,
        now,
        roles=[("approver", "market"), ("approver", "fire"), ("dept_head", None), ("applicant", None)],
    )
    case = new_case(session, people, now)  # its intake task is the clerks', not the actor's
    day = timedelta(days=1)
    at = {"created_at": now}
    t_any = _task(session, case, "approver", None, now + day, **at)
    t_market = _task(session, case, "approver", "market", now + 3 * day, **at)
    t_fire = _task(session, case, "approver", "fire", now + 2 * day, **at)
    t_head = _task(session, case, "dept_head", None, None, **at)
    t_market_tie = _task(session, case, "approver", "market", now + 2 * day, **at)  # same due: by id
    _task(session, case, "approver", "tax", now, **at)
    _task(session, case, "approver", "market", now, assignee_id=people["market"].id, **at)
    _task(session, case, "dept_head", "market", now, **at)  # dept_head is held in no department
    _task(session, case, "applicant", None, now, **at)
    _task(session, case, "approver", "market", now, state="completed", **at)
    expected = [t_any, t_fire, t_market_tie, t_market, t_head]
    assert _claimable_by_definition(session, actor, case) == expected

    def ids(
        filters: TaskFilters | None = None, page: int = 1, per_page: int = 20
    ) -> tuple[list[int | None], int]:
        listed = list_tasks(session, actor, "claimable", filters or TaskFilters(), page, per_page, now)
        return [r.task_id for r in listed.items], listed.total

    assert ids() == (expected, 5)
    assert ids(page=2, per_page=2) == ([t_market_tie, t_market], 5)  # merged across the branches
    assert ids(page=3, per_page=2) == ([t_head], 5)
    assert ids(page=4, per_page=2) == ([], 5)
    assert ids(TaskFilters(department="market")) == ([t_market_tie, t_market], 2)  # filtered branches
    assert ids(TaskFilters(q=case.number)) == (expected, 5)  # joined with the case: one OR
    assert ids(TaskFilters(due_state="overdue"), per_page=2) == ([], 0)
    assert count_tasks(session, actor, now)["claimable"] == 5
    # same statement shape (one department), other values: each sees their own department only
    for person, own in (("market", [t_any, t_market_tie, t_market]), ("fire", [t_any, t_fire])):
        listed = list_tasks(session, people[person], "claimable", TaskFilters(), 1, 20, now)
        mine = [r.task_id for r in listed.items if r.case_id == case.id]
        assert mine == own == _claimable_by_definition(session, people[person], case), person
        assert count_tasks(session, people[person], now)["claimable"] == listed.total


def test_counts_follow_proxy_rules_and_the_json_list_reuses_them(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = new_case(session, people, now)
    accept_intake(session, case, people, now)
    review = claim_task(session, task_named(session, case, "review").id, people["market"], now)
    market, market2 = people["market"], people["market2"]
    assert count_tasks(session, market2, now)["todo"] == 0
    set_proxy(
        session, market.id, market2.id, now - timedelta(days=1), now + timedelta(days=1), None, market, now
    )
    assert review.assignee_id == market2.id  # moved, on behalf of market
    for user in (market, market2):  # the principal still counts it, the substitute now does
        page, counts = tasks_with_counts(session, user, "todo", TaskFilters(), 1, 20, now)
        assert [r.task_id for r in page.items] == [review.id] and page.total == 1
        assert counts == count_tasks(session, user, now) and counts["todo"] == 1
    new_case(session, people, now)  # an intake the clerks may claim
    for user in (people["clerk2"], people["fire"], market2):  # loaded as a request's actor is
        _ = user.id, [m.role.code for m in user.memberships]
    statements: list[str] = []
    engine = session.get_bind()

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        page, _ = tasks_with_counts(session, people["clerk2"], "claimable", TaskFilters(), 1, 20, now)
        no_rules = len(statements)
        statements.clear()
        tasks_with_counts(session, people["fire"], "claimable", TaskFilters(), 1, 20, now)
        nothing = len(statements)
        statements.clear()
        tasks_with_counts(session, market2, "todo", TaskFilters(), 1, 20, now)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert page.total == 1 and len(page.items) == 1
    # the counts (which also say whether a proxy rule names the actor) and the page (skipped when empty);
    # with rules: the rules are read and the counts taken again
    assert (no_rules, nothing, len(statements)) == (2, 1, 4), statements
