"""Home page, language switch and health check."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, request, session, url_for
from flask_login import login_required
from sqlalchemy import text

from app.extensions import db
from app.web.navigation import safe_next

bp = Blueprint("main", __name__)


@bp.get("/")
@login_required
def home() -> Any:
    """The signed-in user's home: what they can do today."""
    return render_template("home.html")


@bp.get("/lang/<code>")
def set_language(code: str) -> Any:
    """Switch the interface language (zh_CN or en) and go back."""
    if code in {"zh_CN", "en"}:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")) or url_for("main.home"))


@bp.get("/healthz")
def healthz() -> Any:
    """Liveness and readiness: database reachable and number of deployed processes."""
    try:
        db.session.execute(text("SELECT 1"))
        database_ok = True
    except Exception:  # the point of a health check is to report, not raise
        db.session.rollback()
        database_ok = False
    processes = _deployed_process_count() if database_ok else None
    status = 200 if database_ok else 503
    body = {"status": "ok" if database_ok else "degraded", "database": database_ok, "processes": processes}
    return jsonify(body), status


def _deployed_process_count() -> int:
    from app.services.processes import count_deployed_processes

    return count_deployed_processes(db.session())
