"""The deadline_scan and anomaly_rules jobs: run through the scheduler table, and two nodes at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import delete, func, select

from app.extensions import db
from app.models import Alert, Anomaly, ProcessVersion
from app.scheduler import run_job
from app.services.runtime import invalidate_calendar, working_calendar
from tests.cleanup import delete_cases
from tests.services import supervision_data as data

CASES = 30


@pytest.fixture
def overdue_cases(app: Flask, now: datetime) -> Iterator[list[int]]:
    """Committed cases, each with one step five working days over its limit; removed after the test."""
    with app.app_context():
        session = db.session()
        pv = data.deploy_fixture(session, "mini_timer", now, replace={"测试": "作业测试"})
        created = now - timedelta(days=14)
        ids = []
        for _ in range(CASES):
            case = data.case(session, pv, created)
            data.task(session, case, created, working_calendar().due_at(created, 5))
            ids.append(case.id)
        session.commit()
        version_id = pv.id
        db.session.remove()
    yield ids
    with app.app_context():
        delete_cases(db.session(), ids)
        db.session.execute(delete(ProcessVersion).where(ProcessVersion.id == version_id))
        db.session.commit()
        db.session.remove()
    invalidate_calendar()


def test_jobs_run_through_the_scheduler_table(app: Flask, overdue_cases: list[int], now: datetime) -> None:
    assert run_job(app, "deadline_scan", now) == f"raised={CASES} resolved=0 (yellow={CASES})"
    assert run_job(app, "deadline_scan", now + timedelta(minutes=5)) == "raised=0 resolved=0"
    assert run_job(app, "anomaly_rules", now) == f"anomalies={CASES}"
    assert run_job(app, "anomaly_rules", now) == "anomalies=0"
    with app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(Anomaly).where(Anomaly.case_id.in_(overdue_cases))
        )
        assert count == CASES
        db.session.remove()


def test_two_nodes_scanning_at_once_raise_each_alert_once(
    app: Flask, overdue_cases: list[int], now: datetime
) -> None:
    barrier = threading.Barrier(2)
    reports: list[str] = []
    lock = threading.Lock()

    def node() -> None:
        barrier.wait()
        try:
            report = run_job(app, "deadline_scan", now)
        except Exception as error:  # any exception is a failure of the test
            report = repr(error)
        with lock:
            reports.append(report)

    threads = [threading.Thread(target=node) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(reports) in (
        sorted([f"raised={CASES} resolved=0 (yellow={CASES})", "raised=0 resolved=0"]),
        sorted([f"raised={CASES} resolved=0 (yellow={CASES})", "skipped: another node holds the lock"]),
    ), reports
    with app.app_context():
        keys = db.session.scalars(select(Alert.dedupe_key).where(Alert.case_id.in_(overdue_cases))).all()
        assert len(keys) == len(set(keys)) == CASES
        db.session.remove()
