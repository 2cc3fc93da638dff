"""Supervision dashboard (电子监察): alerts, anomalies, orders, statistics."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("supervision", __name__, url_prefix="/supervision")
