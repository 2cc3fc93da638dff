"""Two scheduler nodes firing timers at the same moment: every due timer fires exactly once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import delete, func, select

from app.extensions import db
from app.models import AuditEvent, HumanTask, ProcessVersion, User
from app.scheduler import run_job
from app.services.cases import start_case
from tests.cleanup import delete_cases
from tests.factories import create_user
from tests.services.helpers import deploy_fixture

CASES = 12


@pytest.fixture
def waiting_cases(app: Flask, now: datetime) -> Iterator[list[int]]:
    """Committed cases whose boundary timer (PT2H) is due at now + 2 h; removed after the test."""
    with app.app_context():
        session = db.session()
        clerk = create_user(session, now, roles=[("clerk", "approval"), ("supervisor", "supervision")])
        version = deploy_fixture(session, "mini_timer", now, replace={"测试定时与消息": "并发定时器"})
        ids = [start_case(session, "mini_timer", {}, clerk, now).id for _ in range(CASES)]
        session.commit()
        version_id, clerk_id = version.id, clerk.id
        db.session.remove()
    yield ids
    with app.app_context():
        delete_cases(db.session(), ids)
        db.session.execute(delete(ProcessVersion).where(ProcessVersion.id == version_id))
        db.session.execute(delete(User).where(User.id == clerk_id))
        db.session.commit()
        db.session.remove()


def test_two_schedulers_fire_each_timer_once(app: Flask, waiting_cases: list[int], now: datetime) -> None:
    barrier = threading.Barrier(2)
    reports: list[str] = []

    def node() -> None:
        barrier.wait()
        reports.append(run_job(app, "fire_timers", now + timedelta(hours=3)))

    threads = [threading.Thread(target=node) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    fired = sum(int(r.split("fired=")[1].split()[0]) for r in reports)
    assert fired == CASES and all("failed=0" in r for r in reports), reports
    with app.app_context():
        per_case = db.session.execute(
            select(AuditEvent.case_id, func.count())
            .where(AuditEvent.case_id.in_(waiting_cases), AuditEvent.action == "timer.fired")
            .group_by(AuditEvent.case_id)
        ).all()
        assert sorted(count for _, count in per_case) == [1] * CASES
        escalations = db.session.scalar(
            select(func.count())
            .select_from(HumanTask)
            .where(HumanTask.case_id.in_(waiting_cases), HumanTask.bpmn_id == "escalate")
        )
        assert escalations == CASES
        db.session.remove()
