"""The admin delivery page: admins only, filters, failures visible, retry now (with CSRF)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import OutboxEvent
from app.scheduler.jobs import deliver_outbox
from app.services.delivery import queue_email, queue_sms
from tests.conftest import AuthActions, csrf_token_from
from tests.factories import create_user
from tests.services.receivers import clear_outbox, free_port, smtp_server


@pytest.fixture
def admin_client(session: Session, auth: AuthActions, client: FlaskClient, now: datetime) -> FlaskClient:
    clear_outbox(session)
    create_user(session, now, username="root-admin", roles=[("admin", None)])
    auth.login("root-admin")
    return client


def _row(session: Session, key: str) -> OutboxEvent:
    query = select(OutboxEvent).where(OutboxEvent.idempotency_key == key)
    return session.scalars(query.execution_options(populate_existing=True)).one()


def test_only_admins_see_the_page(
    session: Session, auth: AuthActions, client: FlaskClient, now: datetime
) -> None:
    assert client.get("/admin/deliveries/").status_code == 302  # to the login page
    create_user(session, now, username="plain-clerk", roles=[("clerk", "approval")])
    auth.login("plain-clerk")
    assert client.get("/admin/deliveries/").status_code == 403
    assert client.post("/admin/deliveries/1/retry").status_code in (400, 403)


def test_smtp_down_is_visible_and_retry_now_sends_it(
    app: Flask,
    session: Session,
    admin_client: FlaskClient,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queue_email(session, "li@example.gov.cn", "【预警】办件即将超期", "剩余 1 个工作日。", now, "page:mail:1")
    queue_sms(session, "13900000000", "GOVFLOW_TEST", {}, now, "page:sms:1")
    session.commit()
    port = free_port()
    monkeypatch.setitem(app.config, "SUPERVISION_WEBHOOK_URL", "")
    monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", "")
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", port)
    # the job body in the test's app context (run_job would end the context and detach the logged-in user)
    assert deliver_outbox(now) == "sent=0 failed=1 unconfigured=1"

    page = admin_client.get("/admin/deliveries/?state=failed").get_data(as_text=True)
    assert "投递记录" in page and "page:mail:1" in page and "page:sms:1" in page
    assert f"SMTP 127.0.0.1:{port}" in page and "未配置" in page and "立即重试" in page
    only_mail = admin_client.get("/admin/deliveries/?channel=email").get_data(as_text=True)
    assert "page:mail:1" in only_mail and "page:sms:1" not in only_mail
    assert "page:mail:1" not in admin_client.get("/admin/deliveries/?state=delivered").get_data(as_text=True)

    mail = _row(session, "page:mail:1")
    assert mail.next_attempt_at == now + timedelta(seconds=30)
    assert admin_client.post(f"/admin/deliveries/{mail.id}/retry").status_code == 400  # no CSRF token
    token = csrf_token_from(page)
    response = admin_client.post(
        f"/admin/deliveries/{mail.id}/retry?state=failed", data={"csrf_token": token}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/admin/deliveries/?state=failed"
    )
    retried_at = _row(session, "page:mail:1").next_attempt_at
    assert retried_at is not None and retried_at < now + timedelta(seconds=30)
    with smtp_server(port) as (_port, inbox):
        assert deliver_outbox(max(now, retried_at)).startswith("sent=1")
    assert [m["Subject"] for m in inbox.messages] == ["【预警】办件即将超期"]
    delivered = admin_client.get("/admin/deliveries/?state=delivered").get_data(as_text=True)
    assert "page:mail:1" in delivered
    again = admin_client.post(f"/admin/deliveries/{mail.id}/retry", data={"csrf_token": token})
    assert again.status_code == 409  # already delivered: replay is the tool for that
    assert admin_client.post("/admin/deliveries/999999/retry", data={"csrf_token": token}).status_code == 404
