"""The proxy_rules job with real commits: `flask jobs run`, two nodes at once, a locked task."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import AuditEvent, HumanTask, ProcessVersion, ProxyRule, User
from app.scheduler import run_job
from app.services.proxies import ON_BEHALF
from app.services.proxy_settings import set_proxy
from tests.cleanup import delete_cases
from tests.factories import create_user
from tests.services import supervision_data as data

PRINCIPALS = 6
TASKS_EACH = 4
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Committed:
    """Ids of committed rows: principals with open tasks and a proxy rule starting in an hour."""

    task_ids: list[int]
    principal_of: dict[int, int]  # task id -> principal id
    substitute_of: dict[int, int]  # principal id -> substitute id


@pytest.fixture
def committed(app: Flask, now: datetime) -> Iterator[Committed]:
    with app.app_context():
        session = db.session()
        version = data.deploy_fixture(session, "mini_timer", now, replace={"测试定时与消息": "代理作业"})
        users: list[int] = []
        case_ids: list[int] = []
        principal_of: dict[int, int] = {}
        substitute_of: dict[int, int] = {}
        for _ in range(PRINCIPALS):
            principal = create_user(session, now, roles=[("approver", "market")])
            substitute = create_user(session, now, roles=[("approver", "market")])
            users += [principal.id, substitute.id]
            for _ in range(TASKS_EACH):
                case = data.case(session, version, now - HOUR)
                task = data.task(session, case, now - HOUR, None)
                task.assignee_id = principal.id
                case_ids.append(case.id)
                principal_of[task.id] = principal.id
            set_proxy(session, principal.id, substitute.id, now + HOUR, now + 5 * HOUR, None, principal, now)
            substitute_of[principal.id] = substitute.id
        session.commit()
        version_id = version.id
        db.session.remove()
    yield Committed(sorted(principal_of), principal_of, substitute_of)
    with app.app_context():
        session = db.session()
        delete_cases(session, case_ids)
        session.execute(delete(AuditEvent).where(AuditEvent.actor_id.in_(users)))
        session.execute(
            delete(AuditEvent).where(
                AuditEvent.case_id.is_(None), AuditEvent.action.in_(["proxy.started", "proxy.ended"])
            )
        )
        session.execute(delete(ProxyRule).where(ProxyRule.principal_id.in_(users)))
        session.execute(delete(User).where(User.id.in_(users)))
        session.execute(delete(ProcessVersion).where(ProcessVersion.id == version_id))
        session.commit()
        db.session.remove()


def _holders(app: Flask, task_ids: list[int]) -> dict[int, tuple[int | None, str | None]]:
    with app.app_context():
        rows = db.session.execute(
            select(HumanTask.id, HumanTask.assignee_id, HumanTask.properties).where(
                HumanTask.id.in_(task_ids)
            )
        ).all()
        db.session.remove()
    return {row.id: (row.assignee_id, row.properties.get(ON_BEHALF)) for row in rows}


def _proxied_per_task(app: Flask, task_ids: list[int]) -> list[int]:
    with app.app_context():
        details = list(
            db.session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "task.proxied"))
        )
        counts = [sum(1 for detail in details if detail.get("task_id") == task_id) for task_id in task_ids]
        db.session.remove()
    return counts


def _moved(report: str) -> int:
    return int(report.split("moved=")[1].split()[0])


def test_flask_jobs_run_applies_the_start_and_then_the_end(app: Flask, committed: Committed) -> None:
    runner = app.test_cli_runner()
    start = runner.invoke(args=["jobs", "run", "proxy_rules", "--now", "2026-11-23T10:30:00+08:00"])
    assert start.exit_code == 0, start.output
    assert start.output.strip() == (
        f"started={PRINCIPALS} ended=0 moved={PRINCIPALS * TASKS_EACH} returned=0 unfinished=0 failed=0"
    )
    holders = _holders(app, committed.task_ids)
    for task_id, principal in committed.principal_of.items():
        assert holders[task_id] == (committed.substitute_of[principal], str(principal))
    again = runner.invoke(args=["jobs", "run", "proxy_rules", "--now", "2026-11-23T10:31:00+08:00"])
    assert again.output.strip() == "started=0 ended=0 moved=0 returned=0 unfinished=0 failed=0"
    end = runner.invoke(args=["jobs", "run", "proxy_rules", "--now", "2026-11-23T14:30:00+08:00"])
    assert end.output.strip() == (
        f"started=0 ended={PRINCIPALS} moved=0 returned={PRINCIPALS * TASKS_EACH} unfinished=0 failed=0"
    )
    holders = _holders(app, committed.task_ids)
    assert holders == {task_id: (p, None) for task_id, p in committed.principal_of.items()}


def test_two_nodes_at_the_start_move_each_task_once(app: Flask, committed: Committed, now: datetime) -> None:
    barrier = threading.Barrier(2)
    reports: list[str] = []
    lock = threading.Lock()

    def node() -> None:
        barrier.wait()
        try:
            report = run_job(app, "proxy_rules", now + HOUR)
        except Exception as error:  # any exception is a failure of the test
            report = repr(error)
        with lock:
            reports.append(report)

    threads = [threading.Thread(target=node) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(reports) == 2 and all(r.startswith("started=") and "failed=0" in r for r in reports), reports
    assert sum(_moved(r) for r in reports) == PRINCIPALS * TASKS_EACH, reports
    assert sum(int(r.split("started=")[1].split()[0]) for r in reports) == PRINCIPALS, reports
    assert _proxied_per_task(app, committed.task_ids) == [1] * len(committed.task_ids)
    holders = _holders(app, committed.task_ids)
    for task_id, principal in committed.principal_of.items():
        assert holders[task_id] == (committed.substitute_of[principal], str(principal))
    with app.app_context():
        applied = db.session.scalar(
            select(func.count())
            .select_from(ProxyRule)
            .where(ProxyRule.principal_id.in_(committed.substitute_of), ProxyRule.applied_at == now + HOUR)
        )
        db.session.remove()
    assert applied == PRINCIPALS


def test_a_task_locked_by_its_handler_is_moved_by_the_next_run(
    app: Flask, committed: Committed, now: datetime
) -> None:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("row locks: PostgreSQL (SQLite serializes every writer)")
    busy = committed.task_ids[0]
    with app.app_context(), Session(db.engine) as handler:  # someone working on the task holds its lock
        handler.execute(select(HumanTask.id).where(HumanTask.id == busy).with_for_update())
        report = run_job(app, "proxy_rules", now + HOUR)
        assert report == (
            f"started={PRINCIPALS - 1} ended=0 moved={PRINCIPALS * TASKS_EACH - 1} returned=0 "
            "unfinished=1 failed=0"
        )
        handler.rollback()
    assert _holders(app, [busy])[busy] == (committed.principal_of[busy], None)
    later = run_job(app, "proxy_rules", now + HOUR + timedelta(minutes=1))
    assert later == "started=1 ended=0 moved=1 returned=0 unfinished=0 failed=0"
    principal = committed.principal_of[busy]
    assert _holders(app, [busy])[busy] == (committed.substitute_of[principal], str(principal))
    assert _proxied_per_task(app, committed.task_ids) == [1] * len(committed.task_ids)
