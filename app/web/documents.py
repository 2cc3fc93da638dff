"""Official documents (收文/发文) and 12345 work orders: registration, drafting, lists, registers."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("documents", __name__)
