"""In-app notifications inbox for every user."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.services.inbox import list_notifications, mark_all_read, mark_read, unread_count
from app.web.case_context import actor
from app.web.clock import now
from app.web.navigation import safe_next

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
PER_PAGE = 20


@bp.app_context_processor
def _inbox_badge() -> dict[str, Any]:
    return {"inbox_unread": inbox_unread}


def inbox_unread() -> int | None:
    """The signed-in user's unread count for the navigation badge (None when signed out)."""
    if not current_user.is_authenticated:
        return None
    try:
        return unread_count(db.session(), current_user.id)
    except SQLAlchemyError:  # the navigation must never break an error page
        db.session.rollback()
        return None


@bp.get("")
@login_required
def index() -> Any:
    """My notifications, unread first."""
    page = list_notifications(db.session(), actor(), request.args.get("page", 1, type=int) or 1, PER_PAGE)
    return render_template("inbox/index.html", page=page, safe_link=safe_next)


@bp.post("/<int:notification_id>/read")
@login_required
def read(notification_id: int) -> Any:
    """Mark one notification read; follow its link when asked to open it."""
    notification = mark_read(db.session(), notification_id, actor(), now())
    link = safe_next(notification.link) if request.form.get("open") else None
    db.session.commit()
    return redirect(link or url_for("inbox.index"))


@bp.post("/read-all")
@login_required
def read_all() -> Any:
    """Mark every notification read."""
    count = mark_all_read(db.session(), actor(), now())
    db.session.commit()
    flash(_("已将 %(count)s 条消息标为已读", count=count), "success")
    return redirect(url_for("inbox.index"))
