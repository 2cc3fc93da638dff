"""The inbox: my notifications only, unread first, mark read, the navigation badge."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.models import Notification, User
from app.services.notifications import notify
from tests.conftest import AuthActions, csrf_token_from
from tests.factories import create_user


@pytest.fixture
def people(session: Session, now: datetime) -> dict[str, User]:
    me = create_user(session, now, username="me", roles=[("approver", "market")])
    other = create_user(session, now, username="other", roles=[("approver", "market")])
    notify(
        session,
        me.id,
        "alert.yellow",
        "【黄牌】较早的消息",
        "正文一",
        "/tasks/1",
        None,
        now - timedelta(hours=2),
    )
    notify(
        session, me.id, "anomaly", "已读的消息", "", "https://evil.example/x", None, now - timedelta(hours=1)
    )
    notify(session, me.id, "supervision_order", "最新的消息 <b>", "正文三", None, None, now)
    notify(session, other.id, "anomaly", "别人的消息", "", None, None, now)
    session.commit()
    read = session.query(Notification).filter_by(title="已读的消息").one()
    read.read_at = now
    session.commit()
    return {"me": me, "other": other}


def _ids(session: Session, user: User) -> dict[str, int]:
    return {n.title: n.id for n in session.query(Notification).filter_by(user_id=user.id)}


def test_list_unread_first_and_only_mine(
    client: FlaskClient, auth: AuthActions, people: dict[str, User]
) -> None:
    auth.login("me")
    html = client.get("/inbox").get_data(as_text=True)
    assert "别人的消息" not in html
    positions = [html.index(t) for t in ("最新的消息", "【黄牌】较早的消息", "已读的消息")]
    assert positions == sorted(positions)
    assert "&lt;b&gt;" in html and "<b>" not in html.split("最新的消息")[1][:5]
    assert "evil.example" not in html  # only local links are offered
    assert '<span class="count" id="inbox-count">2</span>' in html


def test_mark_read_and_open(
    client: FlaskClient, auth: AuthActions, people: dict[str, User], session: Session
) -> None:
    auth.login("me")
    ids = _ids(session, people["me"])
    token = csrf_token_from(client.get("/inbox").get_data(as_text=True))
    response = client.post(
        f"/inbox/{ids['【黄牌】较早的消息']}/read", data={"csrf_token": token, "open": "1"}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/tasks/1"
    response = client.post(f"/inbox/{ids['最新的消息 <b>']}/read", data={"csrf_token": token})
    assert response.headers["Location"].endswith("/inbox")
    html = client.get("/inbox").get_data(as_text=True)
    assert 'id="inbox-count"' not in html


def test_cannot_mark_someone_elses(
    client: FlaskClient, auth: AuthActions, people: dict[str, User], session: Session
) -> None:
    auth.login("me")
    theirs = _ids(session, people["other"])["别人的消息"]
    token = csrf_token_from(client.get("/inbox").get_data(as_text=True))
    assert client.post(f"/inbox/{theirs}/read", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/inbox/{theirs}/read").status_code == 400  # no CSRF token


def test_read_all(client: FlaskClient, auth: AuthActions, people: dict[str, User], session: Session) -> None:
    auth.login("me")
    token = csrf_token_from(client.get("/inbox").get_data(as_text=True))
    response = client.post("/inbox/read-all", data={"csrf_token": token}, follow_redirects=True)
    assert "已将 2 条消息标为已读" in response.get_data(as_text=True)
    session.expire_all()
    unread = session.query(Notification).filter_by(read_at=None).all()
    assert [n.title for n in unread] == ["别人的消息"]


def test_badge_on_other_pages_and_login_required(
    client: FlaskClient, auth: AuthActions, people: dict[str, User]
) -> None:
    assert client.get("/inbox").status_code == 302
    auth.login("other")
    assert '<span class="count" id="inbox-count">1</span>' in client.get("/tasks").get_data(as_text=True)


def test_empty_inbox(client: FlaskClient, auth: AuthActions, session: Session, now: datetime) -> None:
    create_user(session, now, username="quiet", roles=[("approver", "market")])
    auth.login("quiet")
    assert "暂无消息" in client.get("/inbox").get_data(as_text=True)
