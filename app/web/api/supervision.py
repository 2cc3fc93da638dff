"""supervision endpoints of the JSON API."""

from __future__ import annotations

from app.web.api import bp  # noqa: F401  (routes are added to the shared API blueprint)
