"""API authentication: token issuance and the per-request actor."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, jsonify, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from app.extensions import db, limiter
from app.models import User
from app.services.accounts import authenticate, issue_api_token, revoke_api_tokens, user_for_token
from app.services.errors import AuthenticationFailed, InvalidInput
from app.web.api import bp
from app.web.clock import now

PUBLIC_ENDPOINTS = {"api.create_token", "api.openapi"}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@bp.before_request
def _authenticate() -> None:
    """Every API call needs a bearer token or a session (with CSRF header for unsafe methods)."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        g.api_user = user_for_token(db.session(), header.removeprefix("Bearer ").strip(), now())
        if db.session.dirty:
            db.session.commit()  # record last_used_at (at most once a minute per token)
        return
    if current_user.is_authenticated:
        if request.method in UNSAFE_METHODS:
            try:
                validate_csrf(request.headers.get("X-CSRFToken", ""))
            except ValidationError as error:  # forged or missing: 400 csrf_failed, as for the pages
                raise CSRFError("会话请求缺少有效的 X-CSRFToken 头 (CSRF)") from error
        g.api_user = current_user._get_current_object()
        return
    raise AuthenticationFailed("需要登录或 Bearer 令牌 (authentication required)")


def api_user() -> User:
    """The authenticated actor of this API request."""
    user: User = g.api_user
    return user


def json_body() -> dict[str, Any]:
    """The request's JSON object, or InvalidInput."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("请求体必须是 JSON 对象 (a JSON object body is required)")
    return body


@bp.post("/auth/tokens")
@limiter.limit(
    lambda: str(current_app.config["LOGIN_RATE_LIMIT"]), deduct_when=lambda r: r.status_code != 201
)
def create_token() -> Any:
    """Exchange username and password for a bearer token."""
    body = json_body()
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise InvalidInput("需要 username 和 password 字段", {"username": "required", "password": "required"})
    user = authenticate(db.session(), username, password)
    token, row = issue_api_token(db.session(), user, now(), int(current_app.config["API_TOKEN_TTL_HOURS"]))
    db.session.commit()
    return jsonify({"token": token, "token_type": "Bearer", "expires_at": row.expires_at.isoformat()}), 201


@bp.get("/me")
def me() -> Any:
    """Who the token or session belongs to, with roles."""
    user = api_user()
    roles = [{"role": m.role.code, "department": m.department_code} for m in user.memberships]
    return jsonify({"username": user.username, "display_name": user.display_name, "roles": roles})


@bp.post("/auth/tokens/revoke")
def revoke_tokens() -> Any:
    """Revoke every API token of the calling user."""
    count = revoke_api_tokens(db.session(), api_user())
    db.session.commit()
    return jsonify({"revoked": count})
