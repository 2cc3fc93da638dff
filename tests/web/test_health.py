"""Health check and the app factory's refusal without a secret."""

from __future__ import annotations

import subprocess
import sys

from flask.testing import FlaskClient

from app import create_app
from config import ProductionConfig


def test_healthz_reports_database_and_processes(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["database"] is True and body["status"] == "ok"
    assert isinstance(body["processes"], int)


def test_production_refuses_to_start_without_secret_key() -> None:
    class NoSecret(ProductionConfig):
        SECRET_KEY = ""

    try:
        create_app(NoSecret)
    except SystemExit as stop:
        assert "SECRET_KEY" in str(stop)
    else:
        raise AssertionError("the app started without a SECRET_KEY")


def test_production_wsgi_without_secret_prints_one_clear_line() -> None:
    env = {"GOVFLOW_ENV": "production", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "SECRET_KEY is not set: refusing to start in production without it."
    )
