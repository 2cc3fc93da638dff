"""BPMN timers and messages through the service layer and the scheduler job, with a controlled clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from app.models import Case, User
from app.scheduler import run_job
from app.services.cases import complete_task, open_tasks, start_case
from app.services.errors import Conflict, NotFound
from app.services.timers import deliver_message, due_timer_case_ids, fire_case_timers, resume_case
from tests.factories import create_user
from tests.services.helpers import deploy_fixture


@pytest.fixture
def clerk(session: Session, now: datetime) -> User:
    return create_user(session, now, roles=[("clerk", "approval"), ("supervisor", "supervision")])


def _started(session: Session, clerk: User, now: datetime) -> Case:
    deploy_fixture(session, "mini_timer", now)
    return start_case(session, "mini_timer", {}, clerk, now)


def test_boundary_timer_is_indexed_and_fires_only_when_due(
    session: Session, clerk: User, now: datetime
) -> None:
    case = _started(session, clerk, now)
    assert case.next_timer_at == now + timedelta(hours=2)
    assert due_timer_case_ids(session, now + timedelta(hours=1)) == []
    assert fire_case_timers(session, case.id, now + timedelta(hours=1)) is False
    assert [t.bpmn_id for t in open_tasks(session, case)] == ["work"]
    later = now + timedelta(hours=3)
    assert due_timer_case_ids(session, later) == [case.id]
    assert fire_case_timers(session, case.id, later) is True
    assert [t.bpmn_id for t in open_tasks(session, case)] == ["escalate"]
    assert case.next_timer_at is None


def test_message_wins_the_race(session: Session, clerk: User, now: datetime) -> None:
    case = _started(session, clerk, now)
    [work] = open_tasks(session, case)
    complete_task(session, work.id, {"decision": "accept"}, clerk, now)
    assert case.next_timer_at == now + timedelta(days=1)
    deliver_message(
        session, case.number, "materials_supplemented", {"count": 2}, None, now + timedelta(hours=5)
    )
    assert [t.bpmn_id for t in open_tasks(session, case)] == ["verify"]
    assert case.next_timer_at is None


def test_timer_wins_the_race_through_the_scheduler_job(
    app: Flask, session: Session, clerk: User, now: datetime
) -> None:
    case = _started(session, clerk, now)
    [work] = open_tasks(session, case)
    complete_task(session, work.id, {"decision": "accept"}, clerk, now)
    case_id = case.id
    session.commit()
    report = run_job(app, "fire_timers", now + timedelta(days=2))
    assert report == "due=1 fired=1 failed=0"
    case = session.get_one(Case, case_id)  # the job ran in its own app context and session
    assert case.status == "completed" and open_tasks(session, case) == []
    assert run_job(app, "fire_timers", now + timedelta(days=3)) == "due=0 fired=0 failed=0"


def test_a_broken_case_is_parked_and_does_not_block_others(
    app: Flask, session: Session, clerk: User, now: datetime
) -> None:
    good = _started(session, clerk, now)
    bad = start_case(session, "mini_timer", {}, clerk, now)
    bad.state = '{"not": "a workflow"}'
    good_id, bad_id, clerk_id = good.id, bad.id, clerk.id
    session.commit()
    report = run_job(app, "fire_timers", now + timedelta(hours=3))
    assert report == "due=2 fired=1 failed=1"
    good, bad = session.get_one(Case, good_id), session.get_one(Case, bad_id)
    assert [t.bpmn_id for t in open_tasks(session, good)] == ["escalate"]
    assert bad.status == "error" and bad.error_message
    resumed = resume_case(session, bad.number, session.get_one(User, clerk_id), now)
    assert resumed.status == "open"


def test_messages_to_unknown_or_closed_cases(session: Session, clerk: User, now: datetime) -> None:
    with pytest.raises(NotFound):
        deliver_message(session, "GF-2026-999999", "materials_supplemented", {}, None, now)
    case = _started(session, clerk, now)
    case.status = "completed"
    with pytest.raises(Conflict):
        deliver_message(session, case.number, "materials_supplemented", {}, None, now)


def test_a_message_nobody_waits_for_is_a_conflict(session: Session, clerk: User, now: datetime) -> None:
    case = _started(session, clerk, now)  # still at "work", not waiting for the message yet
    with pytest.raises(Conflict):
        deliver_message(session, case.number, "materials_supplemented", {}, None, now)
    assert [t.bpmn_id for t in open_tasks(session, case)] == ["work"]
