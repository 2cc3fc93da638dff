"""Accounts: users, roles, departments, authentication and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from app.models import ApiToken, Department, Membership, Role, User
from app.models.accounts import ROLE_CODES
from app.services.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound

# A hash of a random password: checking against it costs the same as a real check, so a wrong
# username and a wrong password take the same time and give the same answer.
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16))
MIN_PASSWORD_LENGTH = 8
#: werkzeug hash method for new passwords; the test suite lowers the work factor to stay fast
PASSWORD_METHOD = "scrypt"  # noqa: S105  (a method name, not a password)
#: how stale an API token's last_used_at may get before a request records the new use
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


def ensure_roles(session: Session) -> dict[str, Role]:
    """Create the fixed role rows that are missing; return all roles by code."""
    existing = {r.code: r for r in session.scalars(select(Role))}
    for code, name in ROLE_CODES.items():
        if code not in existing:
            existing[code] = Role(code=code, name=name)
            session.add(existing[code])
    session.flush()
    return existing


def ensure_department(session: Session, code: str, name: str, parent: Department | None = None) -> Department:
    """Return the department with this code, creating it if needed."""
    dept = session.scalar(select(Department).where(Department.code == code))
    if dept is None:
        dept = Department(code=code, name=name, parent=parent)
        session.add(dept)
        session.flush()
    return dept


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    password: str,
    now: datetime,
    roles: list[tuple[str, str | None]] | None = None,
    phone: str | None = None,
    email: str | None = None,
) -> User:
    """Create a user with hashed password and (role code, department code) memberships."""
    username = username.strip()
    if not username or len(username) > 80:
        raise InvalidInput("用户名不能为空且不超过 80 个字符", {"username": "invalid"})
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"密码至少 {MIN_PASSWORD_LENGTH} 位", {"password": "too_short"})
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"用户名 {username} 已存在")
    user = User(
        username=username,
        display_name=display_name,
        password_hash=generate_password_hash(password, method=PASSWORD_METHOD),
        phone=phone,
        email=email,
        created_at=now,
    )
    session.add(user)
    for role_code, dept_code in roles or []:
        add_membership(session, user, role_code, dept_code)
    session.flush()
    return user


def add_membership(session: Session, user: User, role_code: str, department_code: str | None) -> Membership:
    """Give `user` a role, optionally within a department."""
    role = session.scalar(select(Role).where(Role.code == role_code))
    if role is None:
        raise InvalidInput(f"未知角色 {role_code}", {"role": sorted(ROLE_CODES)})
    dept = None
    if department_code:
        dept = session.scalar(select(Department).where(Department.code == department_code))
        if dept is None:
            raise NotFound(f"未知部门 {department_code}")
    membership = Membership(user=user, role=role, department=dept)
    session.add(membership)
    return membership


def authenticate(session: Session, username: str, password: str) -> User:
    """Return the active user with these credentials; the same error for every failure."""
    user = session.scalar(select(User).where(User.username == username.strip()))
    valid = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not valid or not user.active:
        raise AuthenticationFailed("用户名或密码错误")
    return user


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(session: Session, user: User, now: datetime, ttl_hours: int) -> tuple[str, ApiToken]:
    """Create a bearer token; return the clear token (shown once) and its stored row."""
    token = "gf_" + secrets.token_urlsafe(32)
    row = ApiToken(
        user=user,
        token_hash=_hash_token(token),
        created_at=now,
        expires_at=now + timedelta(hours=ttl_hours),
    )
    session.add(row)
    session.flush()
    return token, row


# Built once: SQLAlchemy then reuses its cache key and compiled form (the statement is the same for every
# API request, only the hash differs). Token, user and memberships (with role and department) in one query.
_TOKEN_WITH_USER = (
    select(ApiToken)
    .options(joinedload(ApiToken.user).joinedload(User.memberships))
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def user_for_token(session: Session, token: str, now: datetime) -> User:
    """Resolve a bearer token to its active user (one query), or raise AuthenticationFailed.

    `last_used_at` is written only when it is TOKEN_TOUCH_INTERVAL old or more, so most API calls do not
    need a write transaction of their own just to record it; the caller commits when the row changed.
    """
    row = session.scalars(_TOKEN_WITH_USER, {"token_hash": _hash_token(token)}).unique().one_or_none()
    if row is None or row.expires_at <= now or not row.user.active:
        raise AuthenticationFailed("令牌无效或已过期 (invalid or expired token)")
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_TOUCH_INTERVAL:
        row.last_used_at = now
    return row.user


def get_user(session: Session, user_id: int) -> User | None:
    """Load a user by primary key (for the session loader)."""
    return session.get(User, user_id)


def revoke_api_tokens(session: Session, user: User) -> int:
    """Delete every API token of `user`; return how many there were."""
    rows = list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)))
    for row in rows:
        session.delete(row)
    session.flush()
    return len(rows)
