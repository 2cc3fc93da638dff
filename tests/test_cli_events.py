"""`flask events replay`: resend a range of platform events with their original keys."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import OutboxEvent
from app.services.cases import start_case
from app.services.step_events import publish_case_events
from tests.factories import create_user
from tests.services.helpers import deploy_fixture


@pytest.fixture
def runner(app: Flask, session: Session) -> FlaskCliRunner:
    return app.test_cli_runner()


def test_replay_resets_delivered_events_in_the_range(
    runner: FlaskCliRunner, session: Session, now: datetime
) -> None:
    clerk = create_user(session, now, roles=[("clerk", "approval")])
    deploy_fixture(session, "mini_timer", now)
    case = start_case(session, "mini_timer", {}, clerk, now)
    number = case.number
    publish_case_events(session, now)  # step.started: written with the case, published by the delivery job
    [event] = session.scalars(select(OutboxEvent).where(OutboxEvent.case_id == case.id)).all()
    key, event.delivered_at = event.idempotency_key, now
    session.commit()
    since, until = (now - timedelta(hours=1)).isoformat(), (now + timedelta(hours=1)).isoformat()
    result = runner.invoke(args=["events", "replay", "--since", since, "--until", until, "--case", number])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("1 events queued for replay")
    replayed = session.scalars(select(OutboxEvent).where(OutboxEvent.idempotency_key == key)).one()
    session.refresh(replayed)
    assert replayed.delivered_at is None and replayed.attempts == 0
    naive = runner.invoke(args=["events", "replay", "--since", "2026-11-01T00:00", "--until", until])
    assert naive.exit_code == 2 and "time zone" in naive.output
    backwards = runner.invoke(args=["events", "replay", "--since", until, "--until", since])
    assert backwards.exit_code == 2 and "after --since" in backwards.output
