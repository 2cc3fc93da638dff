"""Configuration: environment variables -> typed settings. Nothing else lives here."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def _env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


class Config:
    """Settings shared by every environment. Each comes from an environment variable."""

    #: DATABASE_URL — SQLAlchemy URL; default SQLite (WAL) in instance/govflow.db
    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'govflow.db'}")
    # no pool_pre_ping: app.web.database pings only connections that sat idle (a round trip saved per request)
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, object]] = {}
    #: SECRET_KEY — signs sessions and CSRF tokens; production refuses to start without one
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    #: GOVFLOW_TIMEZONE — local time zone for working days and display
    GOVFLOW_TIMEZONE = _env("GOVFLOW_TIMEZONE", "Asia/Shanghai")
    #: GOVFLOW_UPLOAD_DIR — uploaded materials, outside the web root
    GOVFLOW_UPLOAD_DIR = _env("GOVFLOW_UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    #: GOVFLOW_UPLOAD_MAX_MB — the largest accepted upload, in MiB
    GOVFLOW_UPLOAD_MAX_MB = _env_int("GOVFLOW_UPLOAD_MAX_MB", 20)
    MAX_CONTENT_LENGTH = (GOVFLOW_UPLOAD_MAX_MB + 1) * 1024 * 1024
    #: GOVFLOW_PROCESS_DIR / GOVFLOW_FORM_DIR — where BPMN diagrams and JSON Schema forms live
    GOVFLOW_PROCESS_DIR = _env("GOVFLOW_PROCESS_DIR", str(BASE_DIR / "processes"))
    GOVFLOW_FORM_DIR = _env("GOVFLOW_FORM_DIR", str(BASE_DIR / "forms"))
    #: SMTP_HOST / SMTP_PORT / SMTP_USER / SMTP_PASSWORD / SMTP_SENDER / SMTP_STARTTLS — outgoing mail
    SMTP_HOST = _env("SMTP_HOST", "127.0.0.1")
    SMTP_PORT = _env_int("SMTP_PORT", 25)
    SMTP_USER = _env("SMTP_USER", "")
    SMTP_PASSWORD = _env("SMTP_PASSWORD", "")
    SMTP_SENDER = _env("SMTP_SENDER", "govflow@localhost")
    SMTP_STARTTLS = _env_bool("SMTP_STARTTLS", False)
    #: SMS_GATEWAY_URL — HTTP endpoint of the SMS gateway (empty: SMS disabled)
    SMS_GATEWAY_URL = _env("SMS_GATEWAY_URL", "")
    #: SUPERVISION_WEBHOOK_URL — the external supervision platform (empty: events kept in the outbox only)
    SUPERVISION_WEBHOOK_URL = _env("SUPERVISION_WEBHOOK_URL", "")
    #: API_TOKEN_TTL_HOURS — lifetime of API bearer tokens
    API_TOKEN_TTL_HOURS = _env_int("API_TOKEN_TTL_HOURS", 12)
    #: RATELIMIT_STORAGE_URI — Flask-Limiter storage (memory:// for one process, redis:// for several)
    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    #: LOGIN_RATE_LIMIT — failed logins allowed per client address
    LOGIN_RATE_LIMIT = _env("LOGIN_RATE_LIMIT", "10 per minute")
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = GOVFLOW_TIMEZONE
    LANGUAGES = ("zh_CN", "en")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    TESTING = False
    DEBUG = False


class DevelopmentConfig(Config):
    """`make run`: local SQLite, debug helpers off (the server is still reachable only on 127.0.0.1)."""


class TestingConfig(Config):
    """pytest: TEST_DATABASE_URL or a temporary SQLite file set by the fixtures."""

    TESTING = True
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite:///:memory:")
    SECRET_KEY = "test-secret-key"  # noqa: S105  (tests only)
    GOVFLOW_UPLOAD_DIR = str(INSTANCE_DIR / "test-uploads")


class ProductionConfig(Config):
    """gunicorn behind a reverse proxy: secure cookies, SECRET_KEY required."""

    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    SECRET_KEY = os.environ.get("SECRET_KEY", "")


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    """Pick the config class named by GOVFLOW_ENV (default development)."""
    name = os.environ.get("GOVFLOW_ENV", "development")
    if name not in CONFIGS:
        raise SystemExit(f"GOVFLOW_ENV={name!r} is not one of {', '.join(CONFIGS)}")
    return CONFIGS[name]
