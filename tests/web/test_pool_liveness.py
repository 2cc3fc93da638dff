"""Pooled connections are checked for life only after idling; a dead one is replaced before use."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import QueuePool

from app.extensions import db
from app.web import database


def _engine_like_the_app(app: Flask):  # type: ignore[no-untyped-def]
    """A small pool on the app's database with only the liveness check (no test transaction around it)."""
    with app.app_context():
        url = db.engine.url
    engine = create_engine(url, poolclass=QueuePool, pool_size=1, max_overflow=0)
    database.check_idle_connections(engine)
    return engine


def _kill_pooled_connection(engine) -> None:  # type: ignore[no-untyped-def]
    """Close the idle driver connection under the pool's feet (as a server restart or a dropped link does)."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    (record,) = engine.pool._pool.queue  # the one checked-in connection
    record.dbapi_connection.close()


def test_an_idle_dead_connection_is_replaced(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _engine_like_the_app(app)
    try:
        _kill_pooled_connection(engine)
        monkeypatch.setattr(database, "IDLE_PING_SECONDS", 0.0)  # it has idled "long enough"
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 41 + 1")).scalar() == 42
    finally:
        engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _engine_like_the_app(app)
    try:
        _kill_pooled_connection(engine)
        monkeypatch.setattr(database, "IDLE_PING_SECONDS", 3600.0)  # just checked in: no probe
        with pytest.raises(DBAPIError), engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()
