"""PostgreSQL: a request that only read ends its transaction with COMMIT, so psycopg keeps its prepared
statements; one that wrote without committing, or failed, is rolled back as before.

This app has its own engine on the test database (no outer test transaction): the subject is how real
requests end their transactions. It runs when the suite runs on PostgreSQL (TEST_DATABASE_URL).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, event, func, select, text

from app import create_app
from app.extensions import csrf, db
from app.models import Department
from app.services.errors import PermissionDenied
from config import TestingConfig

URL = os.environ.get("TEST_DATABASE_URL", "")
pytestmark = pytest.mark.skipif(
    not URL.startswith("postgresql"), reason="PostgreSQL behaviour (the suite's PostgreSQL run covers it)"
)
CODE = "pgtx"


@pytest.fixture
def pg_app(app: Flask) -> Iterator[Flask]:  # `app` first: it migrated the test database
    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = URL

    application = create_app(Config)

    def count() -> int:
        statement = select(func.count()).select_from(Department).where(Department.code.like(f"{CODE}%"))
        return int(db.session.scalar(statement) or 0)

    @application.get("/_test/read")
    def read() -> Any:
        return {"departments": count()}

    @application.get("/_test/prepared")
    def prepared() -> Any:
        count()
        return {"prepared": db.session.scalar(text("SELECT count(*) FROM pg_prepared_statements"))}

    @application.post("/_test/write-uncommitted")
    def write_uncommitted() -> Any:
        db.session.add(Department(code=f"{CODE}-lost", name="never committed"))
        db.session.flush()
        return {"flushed": True}

    @application.post("/_test/write")
    def write() -> Any:
        db.session.add(Department(code=f"{CODE}-{count()}", name="committed"))
        db.session.commit()
        return {"departments": count()}

    @application.get("/_test/refused")
    def refused() -> Any:
        count()
        raise PermissionDenied("不可以")

    csrf.exempt(write_uncommitted)
    csrf.exempt(write)
    yield application
    with application.app_context():
        db.session.execute(delete(Department).where(Department.code.like(f"{CODE}%")))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def _ends(app: Flask, client: FlaskClient, method: str, path: str) -> tuple[int, Any, list[str]]:
    """Status, JSON and how the request's transactions ended (commit / rollback, as the engine saw it)."""
    ends: list[str] = []
    with app.app_context():
        engine = db.engine

    def on_commit(_conn: object) -> None:
        ends.append("commit")

    def on_rollback(_conn: object) -> None:
        ends.append("rollback")

    event.listen(engine, "commit", on_commit)
    event.listen(engine, "rollback", on_rollback)
    try:
        response = client.open(path, method=method, headers={"Accept": "application/json"})
    finally:
        event.remove(engine, "commit", on_commit)
        event.remove(engine, "rollback", on_rollback)
    return response.status_code, response.get_json(), ends


def test_a_reading_request_commits_and_keeps_the_prepared_statements(pg_app: Flask) -> None:
    client = pg_app.test_client()
    assert _ends(pg_app, client, "GET", "/_test/read") == (200, {"departments": 0}, ["commit"])
    for _ in range(6):  # psycopg prepares a statement at its 5th execution on a connection
        client.get("/_test/read")
    # a ROLLBACK would have made psycopg forget (and DEALLOCATE) them: every request would start over
    status, body, ends = _ends(pg_app, client, "GET", "/_test/prepared")
    assert (status, ends) == (200, ["commit"]) and body["prepared"] >= 1


def test_writes_are_committed_only_by_the_view_and_failures_roll_back(pg_app: Flask) -> None:
    client = pg_app.test_client()
    status, body, ends = _ends(pg_app, client, "POST", "/_test/write-uncommitted")
    assert (status, body, ends) == (200, {"flushed": True}, ["rollback"])  # never committed for it
    # the view's commit, then its count's read-only transaction
    assert _ends(pg_app, client, "POST", "/_test/write") == (200, {"departments": 1}, ["commit", "commit"])
    status, body, ends = _ends(pg_app, client, "GET", "/_test/refused")
    assert (status, body["error"], ends) == (403, "permission_denied", ["rollback"])
    assert client.get("/_test/read").get_json() == {"departments": 1}  # the lost row is not there
