"""A live govflow server in a thread (its own database, demo data) and headless Debian Chromium."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from config import TestingConfig
from tests.pg_database import main as recreate_pg_database

CHROMIUM = os.environ.get("GOVFLOW_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _live_database_url(tmp: Path) -> str:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmp / 'live.db'}"
    url = make_url(base)
    live = url.set(database=f"{url.database}_live").render_as_string(hide_password=False)
    if recreate_pg_database(live) != 0:
        pytest.fail("PostgreSQL did not answer for the live-server database")
    return live


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app on its own database, migrated, with the demo organisation and processes deployed."""
    tmp = tmp_path_factory.mktemp("live")

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = _live_database_url(tmp)
        GOVFLOW_UPLOAD_DIR = str(tmp / "uploads")
        WTF_CSRF_ENABLED = True

    application = create_app(Config)
    with application.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        from app.services.demo import seed_demo
        from app.services.processes import deploy_process, read_process_source

        seed_demo(db.session(), datetime.now(UTC))
        for path in sorted((ROOT / "processes").glob("*.bpmn")):  # as `flask processes deploy processes/`
            deploy_process(db.session(), read_process_source([path], ROOT / "forms"), None, datetime.now(UTC))
        db.session.commit()
        db.session.remove()
    yield application
    with application.app_context():
        db.engine.dispose()  # close pooled connections now, not when the interpreter collects them


@pytest.fixture(scope="session")
def deployed(live_app: Flask) -> Flask:
    """The live app (it has the demo organisation, the catalogue and every shipped process deployed)."""
    return live_app


@pytest.fixture(scope="session")
def live_url(live_app: Flask) -> Iterator[str]:
    """Serve the live app on a free loopback port for the whole session."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium driven by Playwright (no browser download)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium package (.ci/run does)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context and page per test."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    yield tab
    context.close()


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/ and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
