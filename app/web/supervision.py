"""Supervision dashboard (电子监察): alerts, anomalies, 督办 orders, statistics with charts and exports."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.models import User
from app.services import supervision_orders as orders
from app.services.alerts import acknowledge_alert
from app.services.anomalies import RULES_BY_CODE
from app.services.errors import InvalidInput
from app.services.exports import stats_csv, stats_xlsx
from app.services.runtime import load_calendar
from app.services.statistics import Stats, period_statistics, stats_json
from app.services.supervision_views import (
    AlertFilters,
    Scope,
    alert_counts,
    case_id_for,
    case_numbers,
    departments,
    list_alerts,
    list_anomalies,
    list_orders,
    supervision_scope,
)
from app.web.case_context import actor
from app.web.clock import now
from app.web.navigation import safe_next

bp = Blueprint("supervision", __name__, url_prefix="/supervision")


def parse_date(raw: str | None, name: str) -> date | None:
    """A YYYY-MM-DD argument (None when empty); InvalidInput otherwise."""
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError as error:
        raise InvalidInput(_("日期格式应为 YYYY-MM-DD"), {name: "YYYY-MM-DD"}) from error


def period(args: MultiDict[str, str]) -> tuple[date, date]:
    """The statistics period from `from` / `to`; by default this month up to today."""
    today = load_calendar(db.session()).local_date(now())
    start = parse_date(args.get("from"), "from") or today.replace(day=1)
    return start, parse_date(args.get("to"), "to") or max(today, start)


def alert_filters(args: MultiDict[str, str]) -> AlertFilters:
    """Alert filters from the query string (level, department, ack = yes / no)."""
    ack = args.get("ack", "")
    return AlertFilters(
        level=args.get("level") or None,
        department=(args.get("department") or "").strip()[:40] or None,
        acknowledged={"yes": True, "no": False}.get(ack),
    )


def may_acknowledge(user: User, department: str | None) -> bool:
    """The same rule `acknowledge_alert` enforces, for showing the button."""
    own = department is not None and user.has_role("dept_head", department)
    return user.has_role("supervisor") or own


def _statistics(scope: Scope) -> Stats:
    start, end = period(request.args)
    wanted = (request.args.get("stats_department") or "").strip()[:40] or None
    return period_statistics(db.session(), start, end, scope.narrow(wanted), now())


def _dashboard(
    form: dict[str, str] | None = None, errors: dict[str, Any] | None = None, status: int = 200
) -> Any:
    user, session = actor(), db.session()
    scope = supervision_scope(user)
    filters = alert_filters(request.args)
    alerts = list_alerts(session, scope, filters)
    order_rows = list_orders(session, scope)
    stats = _statistics(scope)
    numbers = case_numbers(session, {o.case_id for o in order_rows})
    chart_labels = {
        "received": _("受理量"),
        "closed": _("办结量"),
        "overdue": _("超期"),
        "on_time_rate": _("按时办结率"),
        "satisfaction_rate": _("满意率"),
        "levels": {"warning": _("预警"), "yellow": _("黄牌"), "red": _("红牌")},
        "empty": _("所选期间暂无数据"),
    }
    chart_data = {"stats": stats_json(stats), "alerts": alert_counts(alerts), "labels": chart_labels}
    return render_template(
        "supervision/dashboard.html",
        scope=scope,
        filters=filters,
        alerts=alerts,
        counts=alert_counts(alerts),
        anomalies=list_anomalies(session, scope),
        rules=RULES_BY_CODE,
        orders=order_rows,
        order_cases=numbers,
        stats=stats,
        chart_data=chart_data,
        departments=departments(session),
        may_acknowledge=may_acknowledge,
        user=user,
        form=form or {},
        errors=errors or {},
        now=now(),
    ), status


@bp.get("")
@login_required
def dashboard() -> Any:
    """Live alerts, anomalies, 督办 orders and the period's statistics."""
    return _dashboard()


def _back() -> Any:
    return redirect(safe_next(request.form.get("next")) or url_for("supervision.dashboard"))


@bp.post("/alerts/<int:alert_id>/acknowledge")
@login_required
def acknowledge(alert_id: int) -> Any:
    """确认预警 (supervisor, or the head of the alert's department)."""
    supervision_scope(actor())
    alert = acknowledge_alert(db.session(), alert_id, actor(), now())
    db.session.commit()
    flash(_("已确认预警 #%(id)s", id=alert.id), "success")
    return _back()


def deadline_at(day: date | None) -> datetime:
    """A reply deadline date as the end of that local day."""
    if day is None:
        raise InvalidInput(_("请填写办理期限"), {"deadline": _("请填写办理期限")})
    return datetime.combine(day, time(23, 59, 59), tzinfo=load_calendar(db.session()).tz)


@bp.post("/orders")
@login_required
def issue() -> Any:
    """下达督办单 (supervisors)."""
    form = {k: request.form.get(k, "") for k in ("case_number", "department", "instruction", "deadline")}
    try:
        deadline = deadline_at(parse_date(form["deadline"], "deadline"))
        case_id = case_id_for(db.session(), form["case_number"])
        order = orders.issue_order(
            db.session(), case_id, form["department"], form["instruction"], deadline, actor(), now()
        )
    except InvalidInput as invalid:
        db.session.rollback()
        details = invalid.details if isinstance(invalid.details, dict) else {"_form": invalid.message}
        return _dashboard(form, details, 400)
    db.session.commit()
    flash(_("已下达督办单 #%(id)s", id=order.id), "success")
    return redirect(url_for("supervision.dashboard", _anchor="orders"))


@bp.post("/orders/<int:order_id>/reply")
@login_required
def reply(order_id: int) -> Any:
    """答复督办单 (the head of the ordered department)."""
    orders.reply_order(db.session(), order_id, request.form.get("reply", ""), actor(), now())
    db.session.commit()
    flash(_("已答复督办单 #%(id)s", id=order_id), "success")
    return redirect(url_for("supervision.dashboard", _anchor="orders"))


@bp.post("/orders/<int:order_id>/close")
@login_required
def close(order_id: int) -> Any:
    """办结督办单 (supervisors)."""
    orders.close_order(db.session(), order_id, actor(), now())
    db.session.commit()
    flash(_("督办单 #%(id)s 已办结", id=order_id), "success")
    return redirect(url_for("supervision.dashboard", _anchor="orders"))


@bp.post("/orders/<int:order_id>/escalate")
@login_required
def escalate(order_id: int) -> Any:
    """升级督办 blue → orange → red (supervisors)."""
    order = orders.escalate_order(db.session(), order_id, actor(), now())
    level = orders.LEVEL_NAMES[order.level]
    db.session.commit()
    flash(_("督办单 #%(id)s 已升级为%(level)s", id=order_id, level=level), "success")
    return redirect(url_for("supervision.dashboard", _anchor="orders"))


def _export(body: bytes, mimetype: str, stats: Stats, suffix: str) -> Response:
    name = f"govflow-stats-{stats.start.isoformat()}-{stats.end.isoformat()}.{suffix}"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/stats.xlsx")
@login_required
def export_xlsx() -> Any:
    """The period's statistics as an Excel workbook."""
    stats = _statistics(supervision_scope(actor()))
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return _export(stats_xlsx(stats), xlsx, stats, "xlsx")


@bp.get("/stats.csv")
@login_required
def export_csv() -> Any:
    """The period's statistics as CSV (UTF-8 with BOM)."""
    stats = _statistics(supervision_scope(actor()))
    return _export(stats_csv(stats), "text/csv; charset=utf-8", stats, "csv")
