"""Personal workspace settings: vacation proxies (代理) — set, list, cancel."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from app.extensions import db
from app.models import User
from app.services.directory import department_staff, display_names
from app.services.errors import Conflict, InvalidInput, NotFound
from app.services.proxies import list_proxies
from app.services.proxy_settings import cancel_proxy, set_proxy
from app.web.case_context import actor
from app.web.clock import now
from app.web.documents import attach_errors
from app.web.task_queries import filter_options

bp = Blueprint("settings", __name__, url_prefix="/settings")
REFUSED = (InvalidInput, Conflict, NotFound)
FIELD_NAMES = {"starts_at": "starts_on", "ends_at": "ends_on"}  # service keys -> form fields


class ProxyForm(FlaskForm):
    """A vacation proxy: substitute, first and last day, optionally one process."""

    substitute_id = SelectField(_l("代理人"), coerce=int, validators=[DataRequired(_l("请选择代理人"))])
    starts_on = DateField(_l("开始日期"), validators=[DataRequired(_l("请输入有效日期"))])
    ends_on = DateField(_l("结束日期（含）"), validators=[DataRequired(_l("请输入有效日期"))])
    process_id = SelectField(_l("流程"), choices=[], default="")


def _local(day: date) -> datetime:
    return datetime.combine(day, time.min, ZoneInfo(str(current_app.config["GOVFLOW_TIMEZONE"])))


def _substitutes(user: User) -> list[tuple[int, str]]:
    """Colleagues of my departments (everyone active for an administrator), by name."""
    session = db.session()
    if user.has_role("admin"):
        ids = list(session.scalars(select(User.id).where(User.active.is_(True))))
    else:
        ids = department_staff(session, user.department_codes())
    names = display_names(session, set(ids) - {user.id})
    return sorted(names.items(), key=lambda item: item[1])


def _page(form: ProxyForm, status: int = 200) -> Any:
    rules = list_proxies(db.session(), actor())
    last_day = lambda rule: rule.ends_at - timedelta(seconds=1)  # noqa: E731  (ends_at is exclusive)
    return (
        render_template("settings/proxies.html", form=form, rules=rules, now=now(), last_day=last_day),
        status,
    )


@bp.route("/proxies", methods=["GET", "POST"])
@login_required
def proxies() -> Any:
    """代理设置: my active and past rules and a form for a new one."""
    user = actor()
    form = ProxyForm()
    form.substitute_id.choices = [
        SelectChoice(0, _("请选择")),
        *(SelectChoice(i, n) for i, n in _substitutes(user)),
    ]
    processes, _departments = filter_options(db.session())
    form.process_id.choices = [SelectChoice("", _("全部流程")), *(SelectChoice(p, n) for p, n in processes)]
    if not form.validate_on_submit():
        return _page(form, 400 if form.is_submitted() else 200)
    starts_on, ends_on = form.starts_on.data, form.ends_on.data
    assert starts_on is not None and ends_on is not None  # DataRequired
    try:
        set_proxy(
            db.session(),
            user.id,
            int(form.substitute_id.data or 0),
            _local(starts_on),
            _local(ends_on + timedelta(days=1)),
            form.process_id.data or None,
            user,
            now(),
        )
    except REFUSED as refused:
        db.session.rollback()
        details = refused.details if isinstance(refused.details, dict) else {"_form": refused.message}
        attach_errors(form, {FIELD_NAMES.get(key, key): text for key, text in details.items()})
        return _page(form, 400)
    db.session.commit()
    flash(_("已设置代理。"), "success")
    return redirect(url_for("settings.proxies"))


@bp.post("/proxies/<int:rule_id>/cancel")
@login_required
def cancel(rule_id: int) -> Any:
    """取消代理: moved open tasks go back to the principal."""
    try:
        cancel_proxy(db.session(), rule_id, actor(), now())
    except REFUSED as refused:
        db.session.rollback()
        flash(refused.message, "error")
    else:
        db.session.commit()
        flash(_("已取消代理。"), "success")
    return redirect(url_for("settings.proxies"))
