"""SQLite transaction modes: read-only requests begin deferred, writes always hold the write lock.

This app has its own SQLite file whatever TEST_DATABASE_URL says: the subject is the SQLite configuration.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import event, func, select

from app import create_app
from app.extensions import csrf, db
from app.models import ApiToken, Department
from app.services.accounts import ensure_roles, issue_api_token
from app.services.errors import PermissionDenied
from config import TestingConfig
from tests.factories import create_user


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[tuple[Flask, Path]]:
    path = tmp_path / "transactions.db"

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{path}"
        GOVFLOW_UPLOAD_DIR = str(tmp_path / "uploads")

    app = create_app(Config)

    def departments() -> int:
        return int(db.session.scalar(select(func.count()).select_from(Department)) or 0)

    def add_department(code: str) -> None:
        db.session.add(Department(code=code, name=code))
        db.session.flush()

    @app.get("/_test/read")
    def read() -> Any:
        return {"departments": departments()}

    @app.route("/_test/write", methods=["GET", "POST"])
    def write() -> Any:
        count = departments() + 1
        add_department(f"d{count}")
        db.session.commit()
        return {"departments": count}

    @app.get("/_test/denied")
    def denied() -> Any:
        departments()
        add_department("refused")
        raise PermissionDenied("不可以")

    @app.route("/_test/other-writer", methods=["GET", "POST"])
    def other_writer() -> Any:
        departments()  # this request's transaction has begun
        other = sqlite3.connect(path, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO department (code, name) VALUES ('other', 'other')")
            other.commit()
            return {"other_wrote": True}
        except sqlite3.OperationalError as error:
            return {"other_wrote": False, "error": str(error)}
        finally:
            other.close()

    csrf.exempt(write)
    csrf.exempt(other_writer)
    with app.app_context():
        upgrade()
    yield app, path
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _begins(
    app: Flask, client: FlaskClient, method: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, Any, list[str]]:
    """Status, JSON and the BEGIN statements of one request."""
    begins: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith("BEGIN"):
            begins.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            response = client.open(path, method=method, headers=headers or {"Accept": "application/json"})
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
    return response.status_code, response.get_json(), begins


def test_reads_begin_deferred_and_writes_hold_the_lock(sqlite_app: tuple[Flask, Path]) -> None:
    app, _ = sqlite_app
    client = app.test_client()
    assert _begins(app, client, "GET", "/_test/read") == (200, {"departments": 0}, ["BEGIN"])
    assert _begins(app, client, "POST", "/_test/write") == (200, {"departments": 1}, ["BEGIN IMMEDIATE"])
    # a GET that writes: refused before its first write, rolled back, run again write-locked — once
    assert _begins(app, client, "GET", "/_test/write") == (
        200,
        {"departments": 2},
        ["BEGIN", "BEGIN IMMEDIATE"],
    )
    status, body, begins = _begins(app, client, "GET", "/_test/denied")
    assert (status, body["error"], begins) == (403, "permission_denied", ["BEGIN", "BEGIN IMMEDIATE"])
    assert _begins(app, client, "GET", "/_test/read")[1] == {"departments": 2}  # nothing half-written


def test_a_reading_request_leaves_the_write_lock_to_others(sqlite_app: tuple[Flask, Path]) -> None:
    app, _ = sqlite_app
    client = app.test_client()
    assert client.get("/_test/other-writer").get_json() == {"other_wrote": True}
    refused = client.post("/_test/other-writer").get_json()
    assert refused["other_wrote"] is False and "locked" in refused["error"]
    assert client.get("/_test/read").get_json() == {"departments": 1}


def test_an_api_token_use_is_recorded_by_a_second_write_locked_run(sqlite_app: tuple[Flask, Path]) -> None:
    app, _ = sqlite_app
    with app.app_context():
        ensure_roles(db.session())
        user = create_user(db.session(), now=datetime.now(UTC), roles=[("clerk", "approval")])
        token, row = issue_api_token(db.session(), user, datetime.now(UTC), 1)
        token_id = row.id
        db.session.commit()
        db.session.remove()
    client = app.test_client()
    bearer = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def me() -> tuple[int, list[str], datetime | None]:
        status, _, begins = _begins(app, client, "GET", "/api/v1/me", bearer)
        with app.app_context():
            used = db.session.get_one(ApiToken, token_id).last_used_at
            db.session.remove()
        return status, begins, used

    # the first use is recorded: a write, so the request runs again write-locked, to its end (the view
    # reads the user again after the authentication's commit, in a third transaction)
    status, begins, first = me()
    assert (status, begins) == (200, ["BEGIN", "BEGIN IMMEDIATE", "BEGIN IMMEDIATE"]) and first is not None
    assert me() == (200, ["BEGIN"], first)  # within the minute: read only, deferred
