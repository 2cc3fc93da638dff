"""Shared fixtures: the app on SQLite or PostgreSQL, a rolled-back transaction per test, a fixed clock."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from app import create_app
from app.extensions import db, limiter
from app.services import accounts as accounts_service
from config import TestingConfig

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIXED_NOW = datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI)  # a Monday, a working day


accounts_service.PASSWORD_METHOD = "pbkdf2:sha256:1000"  # real hashing, cheaper work factor for tests


def _database_url(tmp: Path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp / 'govflow-test.db'}"


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One application per test session, schema built by the real migrations."""
    tmp = tmp_path_factory.mktemp("govflow")

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = _database_url(tmp)
        GOVFLOW_UPLOAD_DIR = str(tmp / "uploads")
        GOVFLOW_FIXED_NOW = FIXED_NOW  # requests run at the instant the tests' data is written at

    application = create_app(Config)
    with application.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        from app.services.accounts import ensure_roles

        ensure_roles(db.session)
        db.session.commit()
        db.session.remove()
    yield application
    with application.app_context():
        db.engine.dispose()  # close pooled connections now, not when the interpreter collects them


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A database session inside a transaction that is rolled back after the test."""
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        original = db.session
        factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        db.session = scoped_session(factory)  # type: ignore[assignment]
        limiter.reset()
        try:
            yield db.session  # type: ignore[misc]
        finally:
            db.session.remove()
            db.session = original  # type: ignore[method-assign]
            transaction.rollback()
            connection.close()


@pytest.fixture
def client(app: Flask, session: Session) -> FlaskClient:
    """A test client whose requests run inside the test's transaction."""
    return app.test_client()


@pytest.fixture
def now() -> datetime:
    """The fixed instant tests run at."""
    return FIXED_NOW


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    """Extract the CSRF token a page rendered."""
    match = CSRF_RE.search(html)
    assert match, "page has no csrf_token field"
    return match.group(1)


class AuthActions:
    """Log in and out through the real login form (with its CSRF token)."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, username: str, password: str = "password-123") -> object:
        """Submit the login form."""
        page = self.client.get("/login")
        token = csrf_token_from(page.get_data(as_text=True))
        return self.client.post(
            "/login", data={"username": username, "password": password, "csrf_token": token}
        )

    def logout(self) -> object:
        """Submit the logout form."""
        page = self.client.get("/")
        token = csrf_token_from(page.get_data(as_text=True))
        return self.client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    """Login helper bound to the test client."""
    return AuthActions(client)
