"""The delivery job against real receivers: HTTP webhook and SMS gateway, an SMTP server; retries, order."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import OutboxEvent, User
from app.scheduler import run_job
from app.services.cases import start_case
from app.services.delivery import backoff, claim_due_events, queue_email, queue_sms
from app.services.events import emit_case_event
from tests.factories import create_user
from tests.services.helpers import deploy_fixture
from tests.services.receivers import clear_outbox, free_port, http_receiver, smtp_server


@pytest.fixture
def clerk(session: Session, now: datetime) -> User:
    return create_user(session, now, roles=[("clerk", "approval")])


@pytest.fixture
def quiet(app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """An empty outbox and no channel configured: each test turns on what it needs."""
    clear_outbox(session)
    for key in ("SUPERVISION_WEBHOOK_URL", "SMS_GATEWAY_URL", "SMTP_HOST"):
        monkeypatch.setitem(app.config, key, "")
    return app


def _case_with_events(session: Session, clerk: User, now: datetime, extra: int = 2) -> str:
    """A committed case with 1 + `extra` webhook events; returns its number (jobs detach objects)."""
    deploy_fixture(session, "mini_timer", now)
    case = start_case(session, "mini_timer", {}, clerk, now)  # step.started
    for n in range(extra):
        emit_case_event(session, case, "supervision.order", {"order_id": n}, now, sequence=f"{n}.issued")
    session.commit()
    return case.number


def _rows(session: Session, channel: str | None = None) -> list[OutboxEvent]:
    query = select(OutboxEvent).order_by(OutboxEvent.id).execution_options(populate_existing=True)
    if channel:
        query = query.where(OutboxEvent.channel == channel)
    return list(session.scalars(query))


def test_backoff_doubles_from_thirty_seconds_up_to_an_hour() -> None:
    assert [backoff(n).total_seconds() for n in range(9)] == [0, 30, 60, 120, 240, 480, 960, 1920, 3600]
    assert backoff(50) == timedelta(hours=1)


def test_webhook_gets_each_event_once_in_order_with_its_idempotency_key(
    quiet: Flask, session: Session, clerk: User, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = _case_with_events(session, clerk, now)
    with http_receiver() as receiver:
        monkeypatch.setitem(quiet.config, "SUPERVISION_WEBHOOK_URL", receiver.url)
        assert run_job(quiet, "deliver_outbox", now) == "sent=3 failed=0 unconfigured=0"
        assert (
            run_job(quiet, "deliver_outbox", now + timedelta(minutes=1)) == "sent=0 failed=0 unconfigured=0"
        )
    rows = _rows(session, "webhook")
    assert receiver.acknowledged() == [row.idempotency_key for row in rows]
    first = receiver.requests[0]
    assert first.path == "/events"
    assert first.headers["Content-Type"] == "application/json; charset=utf-8"
    assert first.headers["X-Govflow-Event"] == "step.started"
    assert first.body == rows[0].payload and first.body["case_number"] == number
    assert first.body["step"]["name"] == "办理"
    assert all(row.delivered_at == now and row.attempts == 1 and row.last_error is None for row in rows)


def test_a_failing_receiver_is_retried_with_backoff_and_order_is_kept(
    quiet: Flask, session: Session, clerk: User, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _case_with_events(session, clerk, now)
    with http_receiver(statuses=[500, 500]) as receiver:
        monkeypatch.setitem(quiet.config, "SUPERVISION_WEBHOOK_URL", receiver.url)
        assert run_job(quiet, "deliver_outbox", now) == "sent=0 failed=1 unconfigured=0"
        head, *rest = _rows(session, "webhook")
        assert (head.attempts, head.next_attempt_at) == (1, now + timedelta(seconds=30))
        assert head.last_error is not None and head.last_error.startswith("HTTP 500")
        assert all(r.attempts == 0 and r.delivered_at is None for r in rest)  # a later event never overtakes
        assert run_job(quiet, "deliver_outbox", now + timedelta(seconds=29)).startswith("sent=0 failed=0")
        assert (
            run_job(quiet, "deliver_outbox", now + timedelta(seconds=30)) == "sent=0 failed=1 unconfigured=0"
        )
        assert _rows(session, "webhook")[0].next_attempt_at == now + timedelta(seconds=90)
        assert (
            run_job(quiet, "deliver_outbox", now + timedelta(seconds=90)) == "sent=3 failed=0 unconfigured=0"
        )
    rows = _rows(session, "webhook")
    keys = [row.idempotency_key for row in rows]
    assert [r.headers["Idempotency-Key"] for r in receiver.requests] == [keys[0], keys[0], *keys]
    assert receiver.acknowledged() == keys  # each acknowledged exactly once, in order
    assert [row.attempts for row in rows] == [3, 1, 1]
    assert all(row.delivered_at is not None and row.last_error is None for row in rows)


def test_unconfigured_channels_keep_their_rows(
    quiet: Flask, session: Session, clerk: User, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _case_with_events(session, clerk, now, extra=0)
    queue_sms(session, "13800000000", "GOVFLOW_TEST", {"case": "x"}, now, "sms:test:1")
    session.commit()
    assert run_job(quiet, "deliver_outbox", now) == "sent=0 failed=0 unconfigured=2"
    assert {(r.channel, r.last_error, r.attempts) for r in _rows(session)} == {
        ("webhook", "未配置", 0),
        ("sms", "未配置", 0),
    }
    assert run_job(quiet, "deliver_outbox", now).endswith("unconfigured=0")  # labelled once
    with http_receiver() as receiver:
        monkeypatch.setitem(quiet.config, "SUPERVISION_WEBHOOK_URL", receiver.url)
        monkeypatch.setitem(quiet.config, "SMS_GATEWAY_URL", receiver.url.replace("/events", "/sms"))
        assert run_job(quiet, "deliver_outbox", now + timedelta(hours=1)) == "sent=2 failed=0 unconfigured=0"
    sms = next(r for r in receiver.requests if r.path == "/sms")
    assert sms.body == {"phone": "13800000000", "template": "GOVFLOW_TEST", "params": {"case": "x"}}
    assert sms.headers["Idempotency-Key"] == "sms:test:1"
    assert all(r.delivered_at is not None for r in _rows(session))


def test_email_arrives_with_its_chinese_subject(
    quiet: Flask, session: Session, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert queue_email(session, "wang@example.gov.cn", "【黄牌】办件超期提醒", "请尽快办理。", now, "mail:1")
    assert not queue_email(session, "wang@example.gov.cn", "重复", "x", now, "mail:1")  # same key: once
    session.commit()
    with smtp_server() as (port, inbox):
        monkeypatch.setitem(quiet.config, "SMTP_HOST", "127.0.0.1")
        monkeypatch.setitem(quiet.config, "SMTP_PORT", port)
        monkeypatch.setitem(quiet.config, "SMTP_SENDER", "govflow@example.gov.cn")
        assert run_job(quiet, "deliver_outbox", now) == "sent=1 failed=0 unconfigured=0"
    [message] = inbox.messages
    assert message["Subject"] == "【黄牌】办件超期提醒"
    assert message["To"] == "wang@example.gov.cn" and message["From"] == "govflow@example.gov.cn"
    assert message.get_content().strip() == "请尽快办理。"
    assert message["Message-ID"].endswith("@govflow>")
    assert inbox.envelopes == [("govflow@example.gov.cn", ["wang@example.gov.cn"])]


def test_smtp_down_is_retried_and_nothing_is_lost(
    quiet: Flask, session: Session, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(2):
        queue_email(session, f"u{n}@example.gov.cn", f"通知 {n}", "正文", now, f"mail:down:{n}")
    session.commit()
    port = free_port()
    monkeypatch.setitem(quiet.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(quiet.config, "SMTP_PORT", port)
    assert run_job(quiet, "deliver_outbox", now) == "sent=0 failed=1 unconfigured=0"
    tried, released = _rows(session, "email")
    assert tried.attempts == 1 and tried.last_error is not None and "SMTP" in tried.last_error
    assert released.attempts == 0 and released.next_attempt_at == tried.next_attempt_at  # not tried: down
    with smtp_server(port) as (_port, inbox):
        assert (
            run_job(quiet, "deliver_outbox", now + timedelta(minutes=1)) == "sent=2 failed=0 unconfigured=0"
        )
    assert sorted(m["Subject"] for m in inbox.messages) == ["通知 0", "通知 1"]
    assert all(r.delivered_at is not None for r in _rows(session, "email"))


def test_outbound_bpmn_events_go_through_the_webhook(
    quiet: Flask, session: Session, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    session.add(
        OutboxEvent(
            channel="bpmn",
            kind="verification_overdue",
            payload={"case": "GF-2026-000009", "name": "verification_overdue", "payload": {"days": 3}},
            idempotency_key="GF-2026-000009:4:0:verification_overdue",
            created_at=now,
            next_attempt_at=now,
        )
    )
    session.commit()
    with http_receiver() as receiver:
        monkeypatch.setitem(quiet.config, "SUPERVISION_WEBHOOK_URL", receiver.url)
        assert run_job(quiet, "deliver_outbox", now).startswith("sent=1")
    [request] = receiver.requests
    assert request.body["kind"] == "bpmn.verification_overdue"
    assert request.body["case_number"] == "GF-2026-000009" and request.body["data"] == {"days": 3}
    assert request.body["occurred_at"] == "2026-11-23T09:30:00+08:00"
    assert request.headers["Idempotency-Key"] == "GF-2026-000009:4:0:verification_overdue"


def test_a_worker_that_died_after_claiming_is_replaced_after_the_lease(
    quiet: Flask, session: Session, clerk: User, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _case_with_events(session, clerk, now, extra=0)
    [claimed] = claim_due_events(session, ["webhook"], now)  # … and then the worker crashed
    session.commit()
    with http_receiver() as receiver:
        monkeypatch.setitem(quiet.config, "SUPERVISION_WEBHOOK_URL", receiver.url)
        assert run_job(quiet, "deliver_outbox", now + timedelta(minutes=9)).startswith("sent=0")
        assert run_job(quiet, "deliver_outbox", now + timedelta(minutes=10)).startswith("sent=1")
    assert receiver.acknowledged() == [claimed.idempotency_key]  # same key: the receiver can dedupe
    assert _rows(session)[0].attempts == 2
