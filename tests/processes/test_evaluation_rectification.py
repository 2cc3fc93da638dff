"""差评整改 (evaluation_rectification): rectify → revisit accepted → end; revisit redo → rectify again."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy.orm import Session

from app.models import Case, User
from app.services.cases import open_tasks, start_case
from app.services.errors import InvalidInput
from tests.factories import create_user
from tests.processes.scenario import candidates, complete, deploy, done_steps, due_date, only_task

START = {"dept": "market", "evaluated_case": "GF-2026-000001", "overall": 1, "comment": "态度差"}
RECTIFIED = {
    "cause_analysis": "窗口人员服务意识不足",
    "measures": "培训并增设导办",
    "completed_on": "2026-11-27",
}
CALLED = {"contact_method": "phone", "contacted_on": "2026-11-30", "applicant_feedback": "认可整改"}


@pytest.fixture
def people(session: Session, now: datetime) -> dict[str, User]:
    return {
        "head": create_user(session, now, roles=[("dept_head", "market")]),
        "other_head": create_user(session, now, roles=[("dept_head", "tax")]),
        "supervisor": create_user(session, now, roles=[("supervisor", "supervision")]),
    }


def _start(session: Session, now: datetime) -> Case:
    deploy(session, "evaluation_rectification", now)
    return start_case(session, "evaluation_rectification", START, None, now, kind="rectification")


def test_rectified_and_accepted_on_revisit(session: Session, people: dict[str, User], now: datetime) -> None:
    case = _start(session, now)
    rectify = only_task(session, case, "rectify_evaluation")
    # lane dept_head@{dept}; 5 working days from Mon 11-23 → Mon 11-30
    assert (candidates(rectify), due_date(rectify)) == (("dept_head", "market"), date(2026, 11, 30))
    with pytest.raises(InvalidInput) as caught:
        complete(session, rectify, {"measures": "x"}, people["head"], now)
    assert {"cause_analysis", "completed_on"} <= set(caught.value.details or {})
    complete(session, rectify, RECTIFIED, people["head"], now)
    revisit = only_task(session, case, "revisit_applicant")
    # 2 working days → Wed 11-25
    assert (candidates(revisit), due_date(revisit)) == (("supervisor", None), date(2026, 11, 25))
    complete(session, revisit, {**CALLED, "revisit_result": "accepted"}, people["supervisor"], now)
    session.refresh(case)
    assert case.status == "completed" and open_tasks(session, case) == []
    assert done_steps(session, case) == ["rectify_evaluation", "revisit_applicant"]


def test_redo_returns_to_the_department(session: Session, people: dict[str, User], now: datetime) -> None:
    case = _start(session, now)
    complete(session, only_task(session, case, "rectify_evaluation"), RECTIFIED, people["head"], now)
    revisit = only_task(session, case, "revisit_applicant")
    complete(session, revisit, {**CALLED, "revisit_result": "redo"}, people["supervisor"], now)
    again = only_task(session, case, "rectify_evaluation")
    assert candidates(again) == ("dept_head", "market")
    complete(session, again, RECTIFIED, people["head"], now)
    revisit = only_task(session, case, "revisit_applicant")
    complete(session, revisit, {**CALLED, "revisit_result": "accepted"}, people["supervisor"], now)
    session.refresh(case)
    assert case.status == "completed"
    assert done_steps(session, case) == [
        "rectify_evaluation", "revisit_applicant", "rectify_evaluation", "revisit_applicant",
    ]  # fmt: skip
