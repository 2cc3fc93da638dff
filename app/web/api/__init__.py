"""JSON API under /api/v1: bearer-token or session authentication, JSON errors."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from app.web.api import auth as _auth  # noqa: E402,F401  (routes register on import)
from app.web.api import cases as _cases  # noqa: E402,F401
from app.web.api import items as _items  # noqa: E402,F401
from app.web.api import openapi as _openapi  # noqa: E402,F401
from app.web.api import portal as _portal  # noqa: E402,F401
from app.web.api import results as _results  # noqa: E402,F401
from app.web.api import supervision as _supervision  # noqa: E402,F401
from app.web.api import tasks as _tasks  # noqa: E402,F401
