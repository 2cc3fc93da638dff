"""Migration 0007 marks the existing proxy rules: applied when created active, reverted when cancelled."""

from __future__ import annotations

import os
from pathlib import Path

from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from config import TestingConfig
from tests.pg_database import main as recreate_pg_database

USER = text(
    "INSERT INTO user_account (id, username, display_name, password_hash, active, created_at) "
    "VALUES (:id, :name, :name, 'x', true, '2026-11-01 00:00:00')"
)
RULE = text(
    "INSERT INTO proxy_rule (id, principal_id, substitute_id, process_id, starts_at, ends_at, created_at, "
    "cancelled_at) VALUES (:id, 1, 2, NULL, :s, :e, :c, :x)"
)

D1, D2, D3, D5, D10 = (f"2026-11-{day:02d} 00:00:00" for day in (1, 2, 3, 5, 10))
RULES = [  # id, starts_at, ends_at, created_at, cancelled_at
    (1, D1, D10, D2, None),  # created while active: its start was applied then
    (2, D5, D10, D2, None),  # created before its start
    (3, D1, D10, D2, D3),  # cancelled: given back then
    (4, "2026-10-01 00:00:00", "2026-10-10 00:00:00", D2, None),  # created after its end
]


def _url(tmp_path: Path) -> str:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmp_path / 'migration-0007.db'}"
    url = make_url(base)
    own = url.set(database=f"{url.database}_m0007").render_as_string(hide_password=False)
    assert recreate_pg_database(own) == 0
    return own


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def test_existing_rules_are_marked(tmp_path: Path) -> None:
    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = _url(tmp_path)

    app = create_app(Config)
    with app.app_context():
        upgrade(revision="0007")
        downgrade(revision="-1")  # back to the schema before 0007, without the columns
        with db.engine.begin() as conn:
            for n in (1, 2):
                conn.execute(USER, {"id": n, "name": f"m0007-{n}"})
            for rule_id, starts, ends, created, cancelled in RULES:
                conn.execute(RULE, {"id": rule_id, "s": starts, "e": ends, "c": created, "x": cancelled})
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, applied_at, reverted_at FROM proxy_rule ORDER BY id")).all()
        marks = [(r.id, _text(r.applied_at), _text(r.reverted_at)) for r in rows]
        assert marks == [
            (1, "2026-11-02 00:00:00", None),
            (2, None, None),  # the job applies its start
            (3, "2026-11-02 00:00:00", "2026-11-03 00:00:00"),
            (4, None, None),  # the job gives back what it may have routed
        ]
        db.engine.dispose()
