"""Administration page for outgoing deliveries (outbox: webhook, e-mail, SMS)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("deliveries", __name__, url_prefix="/admin/deliveries")
