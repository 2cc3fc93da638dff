"""抄送 and 催办."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEvent, Notification, User
from app.services.copies import copy_case, mark_copy_read
from app.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from app.services.operations import urge_task
from app.services.task_counts import count_tasks
from app.services.task_lists import list_tasks
from app.services.task_rows import TaskFilters
from tests.services.workspace import accept_intake, make_people, new_case, task_named


@pytest.fixture
def people(session: Session, now: datetime) -> dict[str, User]:
    return make_people(session, now)


def test_copy_to_users_and_departments_then_read(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = new_case(session, people, now)
    intake = accept_intake(session, case, people, now)
    copies = copy_case(
        session, case.id, [people["leader"].id], ["fire"], "请知悉", people["clerk"], now, intake.id
    )
    assert {c.user_id for c in copies} == {people["leader"].id, people["fire"].id}
    notes = session.scalars(select(Notification).where(Notification.kind == "case.copied")).all()
    assert len(notes) == 2 and notes[0].link == f"/cases/{case.number}"
    assert count_tasks(session, people["leader"], now)["cc"] == 1
    [row] = list_tasks(session, people["leader"], "cc", TaskFilters(), 1, 20, now).items
    assert row.read is False and row.note == "请知悉" and row.case_number == case.number
    with pytest.raises(PermissionDenied):
        mark_copy_read(session, row.copy_id or 0, people["fire"], now)
    mark_copy_read(session, row.copy_id or 0, people["leader"], now)
    assert count_tasks(session, people["leader"], now)["cc"] == 0
    with pytest.raises(NotFound):
        mark_copy_read(session, 999999, people["leader"], now)


def test_copy_needs_a_participant_and_recipients(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = new_case(session, people, now)
    with pytest.raises(PermissionDenied):
        copy_case(session, case.id, [people["leader"].id], [], "", people["fire"], now)
    with pytest.raises(InvalidInput):
        copy_case(session, case.id, [people["clerk"].id], [], "", people["clerk"], now)
    with pytest.raises(NotFound):
        copy_case(session, case.id, [], ["nowhere"], "", people["clerk"], now)
    with pytest.raises(NotFound):
        copy_case(session, 999999, [people["leader"].id], [], "", people["clerk"], now)


def test_urge_notifies_the_candidates_once_an_hour(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = new_case(session, people, now)
    accept_intake(session, case, people, now)
    review = task_named(session, case, "review")
    handlers = urge_task(session, review.id, "请尽快", people["clerk"], now)
    assert set(handlers) == {people["market"].id, people["market2"].id}
    assert session.scalars(select(AuditEvent).where(AuditEvent.action == "task.urged")).one()
    with pytest.raises(Conflict):
        urge_task(session, review.id, "再催", people["clerk"], now + timedelta(minutes=10))
    urge_task(session, review.id, "再催", people["clerk"], now + timedelta(hours=2))
    with pytest.raises(PermissionDenied):
        urge_task(session, review.id, "", people["fire"], now)
