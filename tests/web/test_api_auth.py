"""API tokens and JSON errors."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import ApiToken
from tests.conftest import AuthActions, csrf_token_from
from tests.factories import create_user


def _token(client: FlaskClient, username: str, password: str = "password-123") -> str:
    response = client.post("/api/v1/auth/tokens", json={"username": username, "password": password})
    assert response.status_code == 201, response.get_json()
    token: str = response.get_json()["token"]
    return token


def test_token_is_issued_stored_hashed_and_accepted(
    session: Session, client: FlaskClient, now: datetime
) -> None:
    create_user(session, now, username="apiuser", roles=[("approver", "market")])
    token = _token(client, "apiuser")
    stored = session.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored and len(stored) == 1 and len(stored[0]) == 64
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.get_json()["roles"] == [{"role": "approver", "department": "market"}]


def test_unknown_token_is_401_json(client: FlaskClient) -> None:
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer gf_nonsense"})
    assert response.status_code == 401
    body = response.get_json()
    assert body["error"] == "authentication_failed" and "令牌" in body["message"]


def test_expired_token_is_401(session: Session, client: FlaskClient, now: datetime) -> None:
    create_user(session, now, username="expiring")
    token = _token(client, "expiring")
    row = session.scalars(select(ApiToken)).one()
    row.expires_at = now - timedelta(seconds=1)
    session.flush()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_no_credentials_is_401(client: FlaskClient) -> None:
    response = client.get("/api/v1/me")
    assert response.status_code == 401 and response.get_json()["error"] == "authentication_failed"


def test_wrong_password_for_token_is_401_and_bad_body_is_400(
    session: Session, client: FlaskClient, now: datetime
) -> None:
    create_user(session, now, username="tok")
    bad = client.post("/api/v1/auth/tokens", json={"username": "tok", "password": "nope-nope"})
    assert bad.status_code == 401 and bad.get_json()["message"] == "用户名或密码错误"
    malformed = client.post("/api/v1/auth/tokens", data="not json", content_type="application/json")
    assert malformed.status_code == 400 and malformed.get_json()["error"] == "invalid_input"
    missing = client.post("/api/v1/auth/tokens", json={"username": 3})
    assert missing.status_code == 400


def test_session_api_post_needs_csrf_header(
    session: Session, auth: AuthActions, client: FlaskClient, now: datetime
) -> None:
    create_user(session, now, username="sess")
    auth.login("sess")
    assert client.get("/api/v1/me").status_code == 200
    # an unsafe method with only the session cookie and no X-CSRFToken is refused
    refused = client.post("/api/v1/auth/tokens/revoke")
    assert refused.status_code == 400 and refused.get_json()["error"] == "csrf_failed"
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    accepted = client.post("/api/v1/auth/tokens/revoke", headers={"X-CSRFToken": token})
    assert accepted.status_code == 200 and accepted.get_json() == {"revoked": 0}


def test_revoke_tokens_with_bearer(session: Session, client: FlaskClient, now: datetime) -> None:
    create_user(session, now, username="revoker")
    token = _token(client, "revoker")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/auth/tokens/revoke", headers=headers).get_json() == {"revoked": 1}
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_unknown_api_path_is_json_404(client: FlaskClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"


def test_openapi_lists_the_routes(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert "post" in document["paths"]["/auth/tokens"]
    assert document["paths"]["/auth/tokens"]["post"]["security"] == []
    assert "get" in document["paths"]["/me"]


def test_token_use_is_recorded_at_most_once_a_minute_and_inactive_users_are_refused(
    session: Session, client: FlaskClient, now: datetime
) -> None:
    user = create_user(session, now, username="toucher")
    headers = {"Authorization": f"Bearer {_token(client, 'toucher')}"}
    row = session.scalars(select(ApiToken)).one()
    assert row.last_used_at is None
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    session.refresh(row)
    first = row.last_used_at
    assert first is not None
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    session.refresh(row)
    assert row.last_used_at == first  # less than a minute later: not written again
    row.last_used_at = first - timedelta(minutes=2)
    session.flush()
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    session.refresh(row)
    assert row.last_used_at is not None and row.last_used_at >= first
    user.active = False
    session.flush()
    assert client.get("/api/v1/me", headers=headers).status_code == 401
