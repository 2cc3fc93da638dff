"""批量审批."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import HumanTask, User
from app.services.bulk import bulk_complete
from app.services.cases import open_tasks
from app.services.errors import InvalidInput
from tests.services.workspace import BULK, make_people, new_case


@pytest.fixture
def people(session: Session, now: datetime) -> dict[str, User]:
    return make_people(session, now)


def test_bulk_completes_allowed_tasks_and_reports_each(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    first = new_case(session, people, now, replace=BULK)
    second = new_case(session, people, now, replace=BULK)
    [a], [b] = open_tasks(session, first), open_tasks(session, second)
    results = bulk_complete(session, [a.id, b.id, 999999], {"decision": "accept"}, people["clerk"], now)
    assert [(r.task_id, r.ok) for r in results] == [(a.id, True), (b.id, True), (999999, False)]
    assert results[2].error == "not_found"
    assert [t.bpmn_id for t in open_tasks(session, first)] == ["review"]
    again = bulk_complete(session, [a.id], {"decision": "accept"}, people["clerk"], now)
    assert again[0].error == "task_already_handled"


def test_one_failure_does_not_undo_the_others(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    ok_case = new_case(session, people, now, replace=BULK)
    [ok_task] = open_tasks(session, ok_case)
    plain = new_case(session, people, now)  # redeployed without bulkApprove
    [other] = open_tasks(session, plain)
    results = bulk_complete(session, [other.id, ok_task.id], {"decision": "nonsense"}, people["clerk"], now)
    assert not results[0].ok and not results[1].ok and results[1].error == "invalid_input"
    results = bulk_complete(session, [ok_task.id, other.id], {"decision": "accept"}, people["clerk2"], now)
    state = session.scalar(select(HumanTask.state).where(HumanTask.id == ok_task.id))
    assert results[0].ok and state == "completed"
    assert results[1].error == "conflict" and "批量" in (results[1].message or "")


def test_bulk_needs_task_ids(session: Session, people: dict[str, User], now: datetime) -> None:
    with pytest.raises(InvalidInput):
        bulk_complete(session, [], {}, people["clerk"], now)
