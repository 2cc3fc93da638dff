"""To-do lists: views, filters, badges, order, pagination, counts, constant query count."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.models import User
from app.services.cases import complete_task, open_tasks
from app.services.errors import InvalidInput
from app.services.operations import claim_task
from app.services.task_lists import TaskFilters, count_tasks, due_badge, list_tasks
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
    assert done_queries <= 4 and len(statements) <= 4, statements
    assert task_named(session, slow, "intake").id == slow_intake.id
