"""Administration page for outgoing deliveries (outbox: supervision webhook, BPMN events, e-mail, SMS)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.extensions import db
from app.services.delivery import list_outbox, outbox_counts, retry_now
from app.services.delivery.outbox import CHANNELS, STATES
from app.web.access import restrict_to
from app.web.clock import now
from app.web.display import localtime

bp = Blueprint("deliveries", __name__, url_prefix="/admin/deliveries")
bp.add_app_template_filter(localtime, "localtime")
PAGE_SIZE = 50


restrict_to(bp, "admin")


def _filters() -> dict[str, Any]:
    channel = request.args.get("channel") or None
    state = request.args.get("state") or None
    page = request.args.get("page", "1")
    return {
        "channel": channel if channel in CHANNELS else None,
        "state": state if state in STATES else None,
        "page": max(1, int(page)) if page.isdigit() else 1,
    }


@bp.get("/")
def index() -> Any:
    """Outbox rows, newest first, with filters (channel, state), attempts and the last error."""
    filters = _filters()
    offset = (filters["page"] - 1) * PAGE_SIZE
    rows = list_outbox(db.session(), filters["channel"], filters["state"], PAGE_SIZE + 1, offset)
    return render_template(
        "deliveries/index.html",
        rows=rows[:PAGE_SIZE],
        has_next=len(rows) > PAGE_SIZE,
        filters=filters,
        counts=outbox_counts(db.session()),
        channels=CHANNELS,
        states=STATES,
    )


@bp.post("/<int:event_id>/retry")
def retry(event_id: int) -> Any:
    """「立即重试」: the row is due now; the delivery job sends it within seconds."""
    retry_now(db.session(), event_id, now())
    db.session.commit()
    flash(_("已安排立即重试，投递任务将在几秒内发送。"), "info")
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k in ("channel", "state", "page")}
    return redirect(url_for("deliveries.index", **args))
