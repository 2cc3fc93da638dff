"""Administration pages: working-day calendar and overrides."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from app.calendar import DayInfo
from app.extensions import db
from app.services.calendar_overrides import (
    FIRST_YEAR,
    LAST_YEAR,
    add_override,
    list_overrides,
    remove_override,
)
from app.services.errors import InvalidInput
from app.services.runtime import load_calendar, refresh_calendar
from app.web.access import restrict_to
from app.web.clock import now

bp = Blueprint("admin", __name__, url_prefix="/admin")
SKIP_REFRESH = frozenset({"static", "main.healthz"})
# The calendar's Chinese words (app.calendar DayInfo.label / source_label), translated here at the web layer.
HOLIDAYS = {
    "元旦": _l("元旦"),
    "春节": _l("春节"),
    "清明节": _l("清明节"),
    "劳动节": _l("劳动节"),
    "端午节": _l("端午节"),
    "中秋节": _l("中秋节"),
    "国庆节": _l("国庆节"),
    "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日": _l(
        "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日"
    ),
}
SOURCES = {
    "official": _l("国务院放假安排"),
    "override": _l("本地调整"),
    "provisional": _l("法定节假日（暂定）"),
    "weekday": _l("工作日"),
    "weekend": _l("周末"),
}


def day_label(day: DayInfo) -> str:
    """`DayInfo.label` in the interface language, e.g. "国庆节 休" / "National Day holiday"; a local
    override's name is shown as the administrator wrote it."""
    name = day.holiday_name
    holiday = str(HOLIDAYS[name]) if name in HOLIDAYS else name
    text: str
    if day.is_adjusted_workday:
        text = _("调休上班（%(holiday)s）", holiday=holiday) if holiday else _("周末上班")
    elif day.is_working:
        text = _("工作日")
    elif holiday:
        text = _("%(holiday)s 休", holiday=holiday)
    else:
        text = _("周末") if day.date.weekday() >= 5 else _("休息日")
    return str(_("%(label)s（暂定）", label=text)) if day.provisional else text


def day_title(day: DayInfo) -> str:
    """The tooltip of a calendar day: date, what it is, where the answer comes from."""
    source = SOURCES.get(day.source)
    return f"{day.date.isoformat()} {day_label(day)} · {source if source is not None else day.source}"


@bp.before_app_request
def _refresh_calendar() -> None:
    """Keep this worker's working_calendar() in step with the overrides (at most one query a minute)."""
    if request.endpoint not in SKIP_REFRESH:
        refresh_calendar(db.session())


restrict_to(bp, "admin")


class OverrideForm(FlaskForm):
    """One local working-day decision."""

    day = DateField(_l("日期"), validators=[DataRequired(_l("请输入有效日期"))])
    kind = SelectField(
        _l("调整为"), choices=[SelectChoice("holiday", _l("休息日")), SelectChoice("working", _l("工作日"))]
    )
    name = StringField(_l("名称"), validators=[DataRequired(_l("请填写名称")), Length(max=120)])


def _year() -> int:
    text = request.args.get("year", "")
    year = int(text) if text.isdigit() else now().year
    return year if FIRST_YEAR <= year <= LAST_YEAR else now().year


def _months(year: int) -> list[list[list[Any]]]:
    """Weeks (Monday first) of each month, with None for the padding days."""
    calendar = load_calendar(db.session())
    days = calendar.year_days(year)
    months: list[list[list[Any]]] = []
    for month in range(1, 13):
        in_month = [d for d in days if d.date.month == month]
        cells: list[Any] = [None] * in_month[0].date.weekday() + in_month
        cells += [None] * (-len(cells) % 7)
        months.append([cells[i : i + 7] for i in range(0, len(cells), 7)])
    return months


def _page(year: int, form: OverrideForm, status: int = 200) -> Any:
    days = load_calendar(db.session()).year_days(year)
    return render_template(
        "admin/calendar.html",
        year=year,
        form=form,
        months=_months(year),
        overrides=list_overrides(db.session(), year),
        working=sum(d.is_working for d in days),
        provisional=any(d.provisional for d in days),
        first_year=FIRST_YEAR,
        last_year=LAST_YEAR,
        day_title=day_title,
    ), status


@bp.route("/calendar", methods=["GET", "POST"])
def calendar() -> Any:
    """The year's working days with local overrides; POST adds an override."""
    year = _year()
    form = OverrideForm()
    if not form.validate_on_submit():
        return _page(year, form, 400 if form.errors else 200)
    day: date = form.day.data
    try:
        add_override(
            db.session(), day, form.kind.data == "working", form.name.data or "", current_user, now()
        )
    except InvalidInput as error:
        for field, message in dict(error.details or {}).items():
            getattr(form, field).errors = [message]
        db.session.rollback()
        return _page(year, form, 400)
    db.session.commit()
    flash(_("已添加 %(day)s 的本地调整。", day=day.isoformat()), "info")
    return redirect(url_for("admin.calendar", year=day.year))


@bp.post("/calendar/overrides/<int:override_id>/delete")
def delete_override(override_id: int) -> Any:
    """Remove one override; the official arrangement applies again."""
    remove_override(db.session(), override_id, current_user, now())
    db.session.commit()
    flash(_("已删除本地调整。"), "info")
    return redirect(url_for("admin.calendar", year=_year()))
