"""Applicant portal (网上办事大厅): catalogue, apply, my cases, progress."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("portal", __name__)
