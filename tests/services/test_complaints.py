"""Complaints: about my case or a department; every supervisor is notified; supervisors handle them."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Notification, User
from app.services.complaints import file_complaint, handle_complaint, list_complaints, my_complaints
from app.services.errors import Conflict, InvalidInput, PermissionDenied
from tests.factories import create_user
from tests.services.results_data import people, service_item, start_parallel


@pytest.fixture
def users(session: Session, now: datetime) -> dict[str, User]:
    return people(session, now)


def test_complaint_about_my_case_reaches_every_supervisor(
    session: Session, users: dict[str, User], now: datetime
) -> None:
    second = create_user(session, now, roles=[("supervisor", "supervision")])
    case = start_parallel(session, users, now, service_item(session))
    complaint = file_complaint(session, users["applicant"], " 窗口推诿 ", case.number, None, now)
    assert (complaint.case_id, complaint.content, complaint.status) == (case.id, "窗口推诿", "open")
    assert complaint.department_id == case.service_item.department_id if case.service_item else True
    notified = session.scalars(select(Notification.user_id).where(Notification.kind == "complaint")).all()
    assert sorted(notified) == sorted([users["supervisor"].id, second.id])
    assert my_complaints(session, users["applicant"]) == [complaint]
    with pytest.raises(PermissionDenied):
        list_complaints(session, users["applicant"])
    assert list_complaints(session, users["supervisor"], "open") == [complaint]
    handle_complaint(session, complaint.id, users["supervisor"], "已约谈", now)
    assert complaint.status == "handled" and complaint.handled_at == now
    with pytest.raises(Conflict):
        handle_complaint(session, complaint.id, users["supervisor"], "", now)


def test_complaint_validation(session: Session, users: dict[str, User], now: datetime) -> None:
    case = start_parallel(session, users, now)
    with pytest.raises(InvalidInput) as caught:
        file_complaint(session, users["other"], "", case.number, None, now)
    assert set(caught.value.details or {}) == {"content", "case_number"}  # not their case
    with pytest.raises(InvalidInput) as caught:
        file_complaint(session, users["other"], "x", None, "nope", now)
    assert set(caught.value.details or {}) == {"department"}
    with pytest.raises(InvalidInput):
        file_complaint(session, users["other"], "x", None, None, now)
    complaint = file_complaint(session, users["other"], "态度差", None, "market", now)
    assert complaint.case_id is None and complaint.department_id is not None
