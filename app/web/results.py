"""Results for applicants and the public: decision notices, licences, verification, evaluations."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("results", __name__)
