"""Every migration upgrades, downgrades and upgrades again, and leaves no drift from the models."""

from __future__ import annotations

import os
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from app.models import Base
from config import TestingConfig
from tests.pg_database import main as recreate_pg_database


def _url(tmp_path: Path) -> str:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmp_path / 'migrations.db'}"
    url = make_url(base)
    own = url.set(database=f"{url.database}_migrations").render_as_string(hide_password=False)
    assert recreate_pg_database(own) == 0
    return own


def test_upgrade_downgrade_upgrade_without_drift(tmp_path: Path) -> None:
    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = _url(tmp_path)

    app = create_app(Config)
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"case_record", "human_task", "alert", "licence", "proxy_rule"} <= tables
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            head = sorted(
                p.name for p in (Path(__file__).parents[1] / "migrations" / "versions").glob("0*.py")
            )[-1]
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            assert head.startswith(f"{version}_")
        db.engine.dispose()
