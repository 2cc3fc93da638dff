"""Login, logout, CSRF, rate limit and redirects through the real pages."""

from __future__ import annotations

from datetime import datetime

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import AuthActions, csrf_token_from
from tests.factories import create_user


def test_login_page_is_chinese_and_has_csrf(client: FlaskClient) -> None:
    page = client.get("/login")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "登录" in html and "用户名" in html
    assert csrf_token_from(html)


def test_login_then_home_then_logout(
    session: Session, auth: AuthActions, client: FlaskClient, now: datetime
) -> None:
    create_user(session, now, username="wangmin", roles=[("clerk", "approval")], display_name="王敏")
    response = auth.login("wangmin")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/")
    assert "您好，王敏" in home.get_data(as_text=True)
    assert auth.logout().status_code == 302
    assert client.get("/").status_code == 302  # back to the login page


def test_wrong_password_and_unknown_user_give_the_same_answer(
    session: Session, auth: AuthActions, now: datetime
) -> None:
    create_user(session, now, username="lisi")
    wrong = auth.login("lisi", "not-the-password")
    unknown = auth.login("nobody-here", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码错误" in wrong.get_data(as_text=True)
    assert "用户名或密码错误" in unknown.get_data(as_text=True)


def test_inactive_user_cannot_log_in(session: Session, auth: AuthActions, now: datetime) -> None:
    user = create_user(session, now, username="gone")
    user.active = False
    session.flush()
    assert auth.login("gone").status_code == 401


def test_ten_failed_logins_in_a_minute_then_429(session: Session, auth: AuthActions, now: datetime) -> None:
    create_user(session, now, username="target")
    statuses = [auth.login("target", "bad-password").status_code for _ in range(10)]
    assert statuses == [401] * 10
    blocked = auth.login("target")  # even the right password is refused now
    assert blocked.status_code == 429
    assert "尝试次数过多" in blocked.get_data(as_text=True)


def test_successful_logins_do_not_count_against_the_limit(
    session: Session, auth: AuthActions, client: FlaskClient, now: datetime
) -> None:
    create_user(session, now, username="busy")
    for _ in range(12):
        assert auth.login("busy").status_code == 302
        auth.logout()


def test_post_without_csrf_token_is_400_page(session: Session, client: FlaskClient, now: datetime) -> None:
    create_user(session, now, username="nocsrf")
    response = client.post("/login", data={"username": "nocsrf", "password": "password-123"})
    assert response.status_code == 400
    assert "请求来源无效" in response.get_data(as_text=True)


def test_next_url_is_followed_only_when_local(session: Session, client: FlaskClient, now: datetime) -> None:
    create_user(session, now, username="nexter")
    for target, expected in [
        ("/healthz", "/healthz"),
        ("https://evil.example/", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
    ]:
        token = csrf_token_from(client.get("/login").get_data(as_text=True))
        response = client.post(
            "/login",
            query_string={"next": target},
            data={"username": "nexter", "password": "password-123", "csrf_token": token},
        )
        assert response.headers["Location"] == expected, target
        client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/").get_data(as_text=True))})


def test_html_in_display_name_is_escaped(
    session: Session, auth: AuthActions, client: FlaskClient, now: datetime
) -> None:
    create_user(session, now, username="xss", display_name="<script>alert(1)</script>")
    auth.login("xss")
    html = client.get("/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_security_headers(client: FlaskClient) -> None:
    response = client.get("/login")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"


def test_english_is_available(client: FlaskClient) -> None:
    client.get("/lang/en")
    html = client.get("/login").get_data(as_text=True)
    assert "Log in" in html and "Username" in html
