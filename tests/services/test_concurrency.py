"""Races on one task: many simultaneous completions, exactly one wins (real threads, real commits)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime

import pytest
from flask import Flask
from sqlalchemy import delete, select

from app.extensions import db
from app.models import Case, HumanTask, ProcessVersion, User
from app.services.cases import complete_task, open_tasks, start_case
from app.services.errors import TaskAlreadyHandled
from tests.cleanup import delete_cases
from tests.factories import create_user
from tests.services.helpers import deploy_fixture

WORKERS = 50


@pytest.fixture
def committed_case(app: Flask, now: datetime) -> Iterator[tuple[int, int, int]]:
    """A committed case with one open task, removed again after the test."""
    with app.app_context():
        session = db.session()
        clerk = create_user(session, now, roles=[("clerk", "approval")])
        version = deploy_fixture(session, "mini_parallel", now, replace={"测试并联审批": "并发测试流程"})
        case = start_case(session, "mini_parallel", {"departments": ["market", "tax"]}, clerk, now)
        session.commit()
        ids = (case.id, open_tasks(session, case)[0].id, clerk.id)
        version_id = version.id
        db.session.remove()
    yield ids
    with app.app_context():
        delete_cases(db.session(), [ids[0]])
        db.session.execute(delete(ProcessVersion).where(ProcessVersion.id == version_id))
        db.session.execute(delete(User).where(User.id == ids[2]))
        db.session.commit()
        db.session.remove()


def test_fifty_simultaneous_completions_of_one_task(
    app: Flask, committed_case: tuple[int, int, int], now: datetime
) -> None:
    case_id, task_id, clerk_id = committed_case
    barrier = threading.Barrier(WORKERS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        with app.app_context():
            session = db.session()
            actor = session.get_one(User, clerk_id)
            session.rollback()  # hold no transaction (nor SQLite's write lock) while waiting for the others
            barrier.wait()
            try:
                complete_task(session, task_id, {"decision": "accept"}, actor, now)
                session.commit()
                outcome = "ok"
            except TaskAlreadyHandled:
                session.rollback()
                outcome = "already_handled"
            except Exception as error:  # any other outcome is a failure of the test
                session.rollback()
                outcome = repr(error)
            finally:
                db.session.remove()
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(set(outcomes)) == ["already_handled", "ok"], outcomes
    assert outcomes.count("ok") == 1 and outcomes.count("already_handled") == WORKERS - 1
    with app.app_context():
        tasks = db.session.scalars(select(HumanTask).where(HumanTask.case_id == case_id)).all()
        assert sorted((t.bpmn_id, t.state) for t in tasks) == [
            ("intake", "completed"),
            ("review", "open"),
            ("review", "open"),
        ]
        assert db.session.get_one(Case, case_id).version == 3  # created (1), started (2), one completion (3)
        db.session.remove()
