"""Cases through the service layer: start, complete, permissions, validation, races, projections."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.models import AuditEvent, Case, HumanTask, Opinion, User
from app.services import cases as cases_service
from app.services.cases import complete_task, open_tasks, start_case
from app.services.errors import InvalidInput, NotFound, PermissionDenied, TaskAlreadyHandled
from tests.factories import create_user
from tests.services.helpers import deploy_fixture

DEPARTMENTS = ["market", "tax", "police", "fire"]


@pytest.fixture
def people(session: Session, now: datetime) -> dict[str, User]:
    users = {
        "clerk": create_user(session, now, roles=[("clerk", "approval")]),
        "leader": create_user(session, now, roles=[("leader", "gxq")]),
        "outsider": create_user(session, now, roles=[("approver", "eco")]),
        "applicant": create_user(session, now, roles=[("applicant", None)]),
    }
    for dept in DEPARTMENTS:
        users[dept] = create_user(session, now, roles=[("approver", dept)])
    return users


def _start(session: Session, people: dict[str, User], now: datetime) -> Case:
    deploy_fixture(session, "mini_parallel", now)
    return start_case(session, "mini_parallel", {"departments": DEPARTMENTS}, people["applicant"], now)


def test_happy_path_projects_every_step_and_closes(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _start(session, people, now)
    assert case.number.startswith("GF-2026-") and case.status == "open"
    [intake] = open_tasks(session, case)
    assert (intake.bpmn_id, intake.candidate_role, intake.candidate_department) == ("intake", "clerk", None)
    assert intake.due_at is not None and intake.due_at.date().isoformat() == "2026-11-25"  # 2 working days
    complete_task(session, intake.id, {"decision": "accept", "opinion": "材料齐全"}, people["clerk"], now)
    reviews = open_tasks(session, case)
    assert sorted(t.candidate_department or "" for t in reviews) == sorted(DEPARTMENTS)
    assert {t.candidate_role for t in reviews} == {"approver"}
    for task in reviews:
        complete_task(
            session, task.id, {"review_decision": "accept"}, people[task.candidate_department or ""], now
        )
    [decide] = open_tasks(session, case)
    assert decide.candidate_role == "leader"
    complete_task(session, decide.id, {"decision": "accept", "opinion": "同意"}, people["leader"], now)
    session.refresh(case)
    assert case.status == "completed" and case.closed_at == now
    assert open_tasks(session, case) == []
    opinions = session.scalars(select(Opinion).where(Opinion.case_id == case.id).order_by(Opinion.id)).all()
    assert [o.decision for o in opinions] == ["accept"] * 6
    assert opinions[0].text == "材料齐全" and opinions[-1].role == "leader"
    state = json.loads(case.state)
    assert "spec" not in state and "subprocess_specs" not in state


def test_refusal_ends_the_case(session: Session, people: dict[str, User], now: datetime) -> None:
    case = _start(session, people, now)
    [intake] = open_tasks(session, case)
    complete_task(
        session, intake.id, {"decision": "refuse", "opinion": "不属于受理范围"}, people["clerk"], now
    )
    session.refresh(case)
    assert case.status == "completed" and open_tasks(session, case) == []


def test_second_completion_is_already_handled(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _start(session, people, now)
    [intake] = open_tasks(session, case)
    complete_task(session, intake.id, {"decision": "accept"}, people["clerk"], now)
    with pytest.raises(TaskAlreadyHandled) as caught:
        complete_task(session, intake.id, {"decision": "refuse"}, people["clerk"], now)
    assert caught.value.details and caught.value.details["case"] == case.number


def test_only_candidates_may_complete(session: Session, people: dict[str, User], now: datetime) -> None:
    case = _start(session, people, now)
    [intake] = open_tasks(session, case)
    with pytest.raises(PermissionDenied):
        complete_task(session, intake.id, {"decision": "accept"}, people["outsider"], now)
    complete_task(session, intake.id, {"decision": "accept"}, people["clerk"], now)
    market = next(t for t in open_tasks(session, case) if t.candidate_department == "market")
    with pytest.raises(PermissionDenied):
        complete_task(session, market.id, {"review_decision": "accept"}, people["tax"], now)


def test_invalid_form_gives_field_errors_and_saves_nothing(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _start(session, people, now)
    [intake] = open_tasks(session, case)
    version_before, state_before = case.version, case.state
    with pytest.raises(InvalidInput) as caught:
        complete_task(session, intake.id, {"decision": "maybe"}, people["clerk"], now)
    assert caught.value.details == {"decision": "请从列表中选择"} or "decision" in (
        caught.value.details or {}
    )
    session.refresh(case)
    session.refresh(intake)
    assert (case.version, case.state, intake.state) == (version_before, state_before, "open")


def test_opinion_required_step_refuses_empty_opinion(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _start(session, people, now)
    [intake] = open_tasks(session, case)
    complete_task(session, intake.id, {"decision": "accept"}, people["clerk"], now)
    for task in open_tasks(session, case):
        complete_task(
            session, task.id, {"review_decision": "accept"}, people[task.candidate_department or ""], now
        )
    [decide] = open_tasks(session, case)
    with pytest.raises(InvalidInput) as caught:
        complete_task(session, decide.id, {"decision": "accept", "opinion": "  "}, people["leader"], now)
    assert "opinion" in (caught.value.details or {})


def test_unknown_task_and_unknown_process(session: Session, people: dict[str, User], now: datetime) -> None:
    with pytest.raises(NotFound):
        complete_task(session, 999_999, {}, people["clerk"], now)
    with pytest.raises(NotFound):
        start_case(session, "no_such_process", {}, people["applicant"], now)


def test_every_completion_is_audited(session: Session, people: dict[str, User], now: datetime) -> None:
    case = _start(session, people, now)
    [intake] = open_tasks(session, case)
    complete_task(session, intake.id, {"decision": "refuse"}, people["clerk"], now)
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.case_id == case.id)).all()
    assert actions == ["case.started", "task.completed"]
    assert (
        session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.case_id == case.id)) == 1
    )


def test_a_completion_is_at_most_six_statements_and_keeps_the_loaded_objects_current(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _start(session, people, now)
    session.flush()
    [intake] = open_tasks(session, case)
    version = case.version
    _ = [m.role.code for m in people["clerk"].memberships]  # loaded, like a request's current user
    seen: list[str] = []

    def listener(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE")):
            seen.append(statement.lstrip().split("(")[0][:40])

    engine = session.get_bind().engine
    event.listen(engine, "before_cursor_execute", listener)
    try:  # lock (+ proxy check), task, new tasks, opinion, audit, case
        done = complete_task(
            session, intake.id, {"decision": "accept", "opinion": "齐全"}, people["clerk"], now
        )
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    # PostgreSQL: the lock, then ONE statement writing the task, the 4 new tasks, opinion, audit and case
    assert len(seen) == (2 if engine.dialect.name == "postgresql" else 6), seen
    assert not [s for s in seen if "outbox_event" in s]
    # what the Core statements wrote is what the loaded objects say, and what a fresh read says
    assert (intake.state, intake.completed_by_id, intake.decision) == (
        "completed",
        people["clerk"].id,
        "accept",
    )
    assert case.version == version + 1 and len(case.open_task_uuids) == len(DEPARTMENTS)
    session.expire_all()
    assert (intake.state, intake.assignee_id, intake.completed_at) == ("completed", people["clerk"].id, now)
    assert case.version == version + 1 and case.status == "open" and case.pending_events
    assert sorted(case.open_task_uuids) == sorted(t.task_uuid for t in open_tasks(session, case))
    # the new tasks' ids came back from the write itself, and they are the rows a read finds
    rows = {t.id: (t.task_uuid, t.bpmn_id, t.candidate_department) for t in open_tasks(session, case)}
    named = {t.id: (t.task_uuid, t.bpmn_id, t.candidate_department) for t in done.new_tasks}
    assert named == rows and len(named) == len(DEPARTMENTS)
    opinion = session.scalars(select(Opinion).where(Opinion.human_task_id == intake.id)).one()
    assert (opinion.text, opinion.decision, opinion.author_id) == ("齐全", "accept", people["clerk"].id)


def test_a_step_written_against_a_stale_case_version_writes_nothing(
    session: Session, people: dict[str, User], now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = _start(session, people, now)
    [intake] = open_tasks(session, case)
    session.flush()
    planned = cases_service.project_result

    def changed_meanwhile(*args: Any, **kwargs: Any) -> Any:  # between the lock and the write
        bump = update(Case).where(Case.id == case.id).values(version=Case.version + 1)
        session.execute(bump.execution_options(synchronize_session=False))  # the loaded case is stale
        return planned(*args, **kwargs)

    monkeypatch.setattr(cases_service, "project_result", changed_meanwhile)
    with pytest.raises(StaleDataError), session.begin_nested():
        complete_task(session, intake.id, {"decision": "accept", "opinion": "齐全"}, people["clerk"], now)
    session.expire_all()
    assert [t.bpmn_id for t in open_tasks(session, case)] == ["intake"]  # no review task was kept
    assert intake.state == "open"
    assert session.scalar(select(func.count()).select_from(Opinion).where(Opinion.case_id == case.id)) == 0
