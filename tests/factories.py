"""Factories for test data: small functions with sensible defaults."""

from __future__ import annotations

import itertools
from datetime import datetime

from sqlalchemy.orm import Session

from app.models import Department, User
from app.services.accounts import create_user as service_create_user
from app.services.accounts import ensure_department
from app.services.demo import DEPARTMENTS, ROOT_DEPARTMENT

DEFAULT_PASSWORD = "password-123"
# the demo organisation's names, so departments created by tests read like the real ones
DEPARTMENT_NAMES = dict([*DEPARTMENTS, ROOT_DEPARTMENT])
_counter = itertools.count(1)


def create_department(session: Session, code: str | None = None, name: str | None = None) -> Department:
    """A department (created if its code is new)."""
    n = next(_counter)
    dept = ensure_department(session, code or f"dept{n}", name or f"测试部门{n}")
    session.commit()  # inside the test's outer transaction: releases a savepoint, rolled back after the test
    return dept


def create_user(
    session: Session,
    now: datetime,
    username: str | None = None,
    roles: list[tuple[str, str | None]] | None = None,
    password: str = DEFAULT_PASSWORD,
    display_name: str | None = None,
) -> User:
    """A user with roles; departments named in roles are created if missing."""
    n = next(_counter)
    for _, dept in roles or []:
        if dept:
            ensure_department(session, dept, DEPARTMENT_NAMES.get(dept, f"部门 {dept}"))
    user = service_create_user(
        session,
        username=username or f"user{n}",
        display_name=display_name or f"测试用户{n}",
        password=password,
        now=now,
        roles=roles or [],
    )
    session.commit()  # inside the test's outer transaction: releases a savepoint, rolled back after the test
    return user
