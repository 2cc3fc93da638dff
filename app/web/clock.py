"""The request's notion of now (aware UTC); tests may pin it with GOVFLOW_FIXED_NOW."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app


def now() -> datetime:
    """Current time, aware UTC, unless the app config pins it."""
    fixed = current_app.config.get("GOVFLOW_FIXED_NOW")
    if isinstance(fixed, datetime):
        return fixed
    return datetime.now(UTC)
