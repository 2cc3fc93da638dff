"""好差评: 403/409 rules, 差评 → rectification (5 working days), invitations, appeals."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Case, Evaluation, Notification, User
from app.services.cases import open_tasks
from app.services.errors import Conflict, InvalidInput, PermissionDenied
from app.services.evaluations import (
    appeal_evaluation,
    decide_appeal,
    evaluate_case,
    invite_unrated,
)
from tests.processes.scenario import complete, deploy, due_date, only_task
from tests.services.results_data import approve_parallel, people, service_item, start_parallel

GOOD = {"efficiency": 5, "guide_accuracy": 4, "convenience": 5, "usability": 4}
BAD = {"efficiency": 1, "guide_accuracy": 2, "convenience": 1, "usability": 2}


@pytest.fixture
def users(session: Session, now: datetime) -> dict[str, User]:
    return people(session, now)


@pytest.fixture
def closed(session: Session, users: dict[str, User], now: datetime) -> Case:
    deploy(session, "evaluation_rectification", now)
    item = service_item(session)
    return approve_parallel(session, start_parallel(session, users, now, item), users, now)


def _kinds(session: Session, user: User) -> list[str]:
    return list(session.scalars(select(Notification.kind).where(Notification.user_id == user.id)))


def test_only_the_applicant_of_a_closed_case_rates_once(
    session: Session, users: dict[str, User], now: datetime, closed: Case
) -> None:
    open_case = start_parallel(session, users, now)
    with pytest.raises(PermissionDenied):
        evaluate_case(session, open_case, users["applicant"], 5, GOOD, "", now)
    with pytest.raises(PermissionDenied):
        evaluate_case(session, closed, users["other"], 5, GOOD, "", now)
    with pytest.raises(InvalidInput) as caught:
        evaluate_case(session, closed, users["applicant"], 6, {**GOOD, "usability": "x"}, "", now)
    assert set(caught.value.details or {}) == {"overall", "usability"}
    evaluation = evaluate_case(session, closed, users["applicant"], "5", GOOD, " 很快 ", now)
    assert (evaluation.overall, evaluation.scores, evaluation.comment) == (5, GOOD, "很快")
    assert evaluation.rectification_case_id is None
    with pytest.raises(Conflict):
        evaluate_case(session, closed, users["applicant"], 4, GOOD, "", now)


def test_bad_rating_starts_rectification_then_revisit_and_rerating(
    session: Session, users: dict[str, User], now: datetime, closed: Case
) -> None:
    evaluation = evaluate_case(session, closed, users["applicant"], 1, BAD, "窗口态度差", now)
    rectification = session.get_one(Case, evaluation.rectification_case_id)
    assert rectification.kind == "rectification" and rectification.data["evaluated_case"] == closed.number
    rectify = only_task(session, rectification, "rectify_evaluation")
    # dept_head of the item's department (market); 5 working days from Mon 11-23 → Mon 11-30
    assert (rectify.candidate_role, rectify.candidate_department) == ("dept_head", "market")
    assert due_date(rectify) == date(2026, 11, 30)
    assert "evaluation.bad" in _kinds(session, users["head"])
    done = {"cause_analysis": "高峰期人手不足", "measures": "增设窗口", "completed_on": "2026-11-25"}
    complete(session, rectify, done, users["head"], now)
    revisit = only_task(session, rectification, "revisit_applicant")
    assert (revisit.candidate_role, revisit.candidate_department) == ("supervisor", None)
    call = {"contact_method": "phone", "contacted_on": "2026-11-26", "applicant_feedback": "认可"}
    complete(session, revisit, {**call, "revisit_result": "accepted"}, users["supervisor"], now)
    session.refresh(rectification)
    assert rectification.status == "completed" and open_tasks(session, rectification) == []
    assert "evaluation.rerate" in _kinds(session, users["applicant"])
    rerated = evaluate_case(session, closed, users["applicant"], 4, GOOD, "整改后满意", now)
    assert rerated.id == evaluation.id and rerated.overall == 4
    with pytest.raises(Conflict):
        evaluate_case(session, closed, users["applicant"], 5, GOOD, "", now)


def test_revisit_can_send_the_rectification_back(
    session: Session, users: dict[str, User], now: datetime, closed: Case
) -> None:
    evaluation = evaluate_case(session, closed, users["applicant"], 2, BAD, "", now)
    rectification = session.get_one(Case, evaluation.rectification_case_id)
    done = {"cause_analysis": "原因", "measures": "措施", "completed_on": "2026-11-25"}
    complete(session, only_task(session, rectification, "rectify_evaluation"), done, users["head"], now)
    call = {"contact_method": "phone", "contacted_on": "2026-11-26", "applicant_feedback": "仍不满意"}
    revisit = only_task(session, rectification, "revisit_applicant")
    complete(session, revisit, {**call, "revisit_result": "redo"}, users["supervisor"], now)
    assert only_task(session, rectification, "rectify_evaluation").candidate_department == "market"
    with pytest.raises(Conflict):  # no re-rating while the rectification is open
        evaluate_case(session, closed, users["applicant"], 5, GOOD, "", now)


def test_appeal_by_department_head_decided_by_supervisor(
    session: Session, users: dict[str, User], now: datetime, closed: Case
) -> None:
    evaluate_case(session, closed, users["applicant"], 1, BAD, "恶意", now)
    with pytest.raises(PermissionDenied):
        appeal_evaluation(session, closed, users["clerk"], "恶意差评", now)
    with pytest.raises(PermissionDenied):
        decide_appeal(session, closed, users["head"], True, "", now)
    with pytest.raises(Conflict):
        decide_appeal(session, closed, users["supervisor"], True, "", now)
    evaluation = appeal_evaluation(session, closed, users["head"], "评价与办件无关", now)
    assert evaluation.appeal_status == "pending"
    assert "evaluation.appeal" in _kinds(session, users["supervisor"])
    with pytest.raises(Conflict):
        appeal_evaluation(session, closed, users["head"], "again", now)
    assert decide_appeal(session, closed, users["supervisor"], True, "查实", now).appeal_status == "upheld"


def test_invitation_job_three_days_after_closure_idempotent(
    session: Session, users: dict[str, User], now: datetime, closed: Case
) -> None:
    assert closed.closed_at == now
    assert invite_unrated(session, now + timedelta(days=2, hours=23)) == 0
    later = now + timedelta(days=3)
    assert invite_unrated(session, later) == 1
    assert invite_unrated(session, later + timedelta(days=1)) == 0  # once per case
    query = select(Notification).where(Notification.kind == "evaluation.invite")
    [invitation] = session.scalars(query).all()
    assert (invitation.user_id, invitation.case_id) == (users["applicant"].id, closed.id)
    assert invitation.link == f"/cases/{closed.number}/evaluation"
    other = approve_parallel(session, start_parallel(session, users, now), users, now)
    evaluate_case(session, other, users["applicant"], 5, GOOD, "", now)
    assert invite_unrated(session, later) == 0  # rated cases are not invited
    assert session.scalar(select(Evaluation.case_id)) == other.id
