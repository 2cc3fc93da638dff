"""Two delivery workers at once (real threads, real commits): each event once, in order per case."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime

import pytest
from flask import Flask
from sqlalchemy import delete, select

from app.extensions import db
from app.models import Case, OutboxEvent, ProcessVersion, User
from app.scheduler import jobs, run_job
from app.services.cases import start_case
from app.services.events import emit_case_event
from tests.cleanup import delete_cases
from tests.factories import create_user
from tests.services.helpers import deploy_fixture
from tests.services.receivers import http_receiver

CASES = 6
EVENTS_PER_CASE = 6
WORKERS = 2


@pytest.fixture
def committed_events(app: Flask, now: datetime) -> Iterator[dict[str, list[str]]]:
    """Committed cases with queued webhook events (keys by case number), removed after the test."""
    with app.app_context():
        session = db.session()
        clerk = create_user(session, now, roles=[("clerk", "approval")])
        version = deploy_fixture(session, "mini_timer", now, replace={"测试": "投递并发"})
        cases = [start_case(session, "mini_timer", {}, clerk, now) for _ in range(CASES)]
        for case in cases:
            for n in range(EVENTS_PER_CASE - 1):
                emit_case_event(session, case, "supervision.order", {"n": n}, now, sequence=f"{n}.issued")
        session.commit()
        case_ids, ids = [c.id for c in cases], (version.id, clerk.id)
        query = select(Case.number, OutboxEvent.idempotency_key).join(Case, Case.id == OutboxEvent.case_id)
        keys: dict[str, list[str]] = {}
        for number, key in session.execute(query.order_by(OutboxEvent.id)):
            keys.setdefault(number, []).append(key)
        db.session.remove()
    yield keys
    with app.app_context():
        delete_cases(db.session(), case_ids)
        db.session.execute(delete(ProcessVersion).where(ProcessVersion.id == ids[0]))
        db.session.execute(delete(User).where(User.id == ids[1]))
        db.session.commit()
        db.session.remove()


def test_two_workers_deliver_each_event_exactly_once_in_order(
    app: Flask, committed_events: dict[str, list[str]], now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sum(map(len, committed_events.values())) == CASES * EVENTS_PER_CASE
    monkeypatch.setattr(jobs, "CLAIM_BATCH", 2)  # small rounds, so the two workers interleave
    monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", "")
    monkeypatch.setitem(app.config, "SMTP_HOST", "")
    barrier = threading.Barrier(WORKERS)
    reports: list[str] = []
    with http_receiver(delay=0.005) as receiver:
        monkeypatch.setitem(app.config, "SUPERVISION_WEBHOOK_URL", receiver.url)

        def worker() -> None:
            barrier.wait()
            try:
                reports.append(run_job(app, "deliver_outbox", now))
            except Exception as error:  # any crash is a failure of the test
                reports.append(repr(error))

        threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert all(report.startswith("sent=") for report in reports), reports
    assert all(not report.startswith("sent=0 ") for report in reports), reports  # both took a share
    ours = {key for keys in committed_events.values() for key in keys}
    acknowledged = [key for key in receiver.acknowledged() if key in ours]  # other tests may leave rows
    assert len(acknowledged) == len(set(acknowledged)) == len(ours)  # each exactly once
    for number, keys in committed_events.items():
        assert [key for key in acknowledged if key.startswith(f"{number}:")] == keys  # in order per case
    with app.app_context():
        rows = db.session.scalars(select(OutboxEvent).where(OutboxEvent.idempotency_key.in_(ours))).all()
        assert {(row.attempts, row.delivered_at is not None) for row in rows} == {(1, True)}
        db.session.remove()
