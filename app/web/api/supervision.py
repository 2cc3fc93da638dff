"""Supervision endpoints of the JSON API: alerts, 督办 orders, statistics."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from flask import jsonify, request

from app.extensions import db
from app.models import Alert, SupervisionOrder
from app.services import supervision_orders as orders
from app.services.alerts import acknowledge_alert
from app.services.errors import InvalidInput, NotFound
from app.services.runtime import load_calendar
from app.services.statistics import period_statistics, stats_json
from app.services.supervision_views import (
    AlertFilters,
    Scope,
    case_id_for,
    case_numbers,
    list_alerts,
    list_orders,
    order_json,
    supervision_scope,
)
from app.web.api import bp
from app.web.api.auth import api_user, json_body
from app.web.clock import now

BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def alert_json(alert: Alert, case_number: str, step: str | None) -> dict[str, Any]:
    """An alert as JSON."""
    return {
        "id": alert.id,
        "case_number": case_number,
        "step": step,
        "department": alert.department_code,
        "level": alert.level,
        "rule": alert.rule,
        "explanation": alert.explanation,
        "raised_at": _iso(alert.raised_at),
        "acknowledged_at": _iso(alert.acknowledged_at),
        "acknowledged_by_id": alert.acknowledged_by_id,
    }


def _date(name: str) -> date | None:
    raw = request.args.get(name)
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError as error:
        raise InvalidInput("日期格式应为 YYYY-MM-DD", {name: "YYYY-MM-DD"}) from error


@bp.get("/alerts")
def alerts_list() -> Any:
    """Live alerts (level, department, acknowledged=true|false), within the caller's departments."""
    scope = supervision_scope(api_user())
    raw = (request.args.get("acknowledged") or "").lower()
    if raw and raw not in BOOLEANS:
        raise InvalidInput("acknowledged 应为 true 或 false", {"acknowledged": "true / false"})
    filters = AlertFilters(
        level=request.args.get("level") or None,
        department=request.args.get("department") or None,
        acknowledged=BOOLEANS.get(raw),
    )
    rows = list_alerts(db.session(), scope, filters)
    return jsonify({"items": [alert_json(r.alert, r.case_number, r.step) for r in rows]})


@bp.post("/alerts/<int:alert_id>/acknowledge")
def alert_acknowledge(alert_id: int) -> Any:
    """Acknowledge an alert (supervisor, or the head of the alert's department)."""
    alert = acknowledge_alert(db.session(), alert_id, api_user(), now())
    db.session.commit()
    return jsonify(alert_json(alert, case_numbers(db.session(), {alert.case_id})[alert.case_id], None))


def _visible_order(order_id: int, scope: Scope) -> SupervisionOrder:
    """The order, or 404 when it does not exist or belongs to a department the caller cannot see."""
    order = db.session.get(SupervisionOrder, order_id)
    if order is None or not scope.allows(order.department.code):
        raise NotFound("督办单不存在 (no such order)")
    return order


def _order_response(order: SupervisionOrder, status: int = 200) -> Any:
    number = case_numbers(db.session(), {order.case_id}).get(order.case_id or 0)
    return jsonify(order_json(order, number)), status


def _deadline(raw: object) -> datetime:
    """`YYYY-MM-DD` (end of that local day) or an ISO-8601 instant with offset."""
    if not isinstance(raw, str) or not raw:
        raise InvalidInput("需要 deadline", {"deadline": "YYYY-MM-DD or ISO-8601 with offset"})
    try:
        if len(raw) == 10:
            tz = load_calendar(db.session()).tz
            return datetime.combine(date.fromisoformat(raw), time(23, 59, 59), tzinfo=tz)
        moment = datetime.fromisoformat(raw)
    except ValueError as error:
        raise InvalidInput("deadline 格式无效", {"deadline": "YYYY-MM-DD or ISO-8601"}) from error
    if moment.tzinfo is None:
        raise InvalidInput("deadline 需要时区", {"deadline": "ISO-8601 with offset"})
    return moment


@bp.get("/supervision-orders")
def orders_list() -> Any:
    """督办 orders (status=open|replied|closed), within the caller's departments."""
    rows = list_orders(db.session(), supervision_scope(api_user()), request.args.get("status") or None)
    numbers = case_numbers(db.session(), {o.case_id for o in rows})
    return jsonify({"items": [order_json(o, numbers.get(o.case_id or 0)) for o in rows]})


@bp.post("/supervision-orders")
def order_issue() -> Any:
    """Issue a 督办 order: department, instruction, deadline, optional case_number (supervisors)."""
    body = json_body()
    department, instruction = body.get("department"), body.get("instruction")
    if not isinstance(department, str) or not isinstance(instruction, str):
        raise InvalidInput("需要 department 和 instruction", {"department": "text", "instruction": "text"})
    number = body.get("case_number")
    if number is not None and not isinstance(number, str):
        raise InvalidInput("case_number 应为文本", {"case_number": "text"})
    deadline, case_id = _deadline(body.get("deadline")), case_id_for(db.session(), number)
    order = orders.issue_order(db.session(), case_id, department, instruction, deadline, api_user(), now())
    db.session.commit()
    return _order_response(order, 201)


@bp.post("/supervision-orders/<int:order_id>/reply")
def order_reply(order_id: int) -> Any:
    """Reply to an order (`reply`; the head of the ordered department)."""
    text = json_body().get("reply")
    if not isinstance(text, str):
        raise InvalidInput("需要 reply", {"reply": "text"})
    _visible_order(order_id, supervision_scope(api_user()))
    order = orders.reply_order(db.session(), order_id, text, api_user(), now())
    db.session.commit()
    return _order_response(order)


@bp.post("/supervision-orders/<int:order_id>/close")
def order_close(order_id: int) -> Any:
    """Close an order (supervisors)."""
    _visible_order(order_id, supervision_scope(api_user()))
    order = orders.close_order(db.session(), order_id, api_user(), now())
    db.session.commit()
    return _order_response(order)


@bp.post("/supervision-orders/<int:order_id>/escalate")
def order_escalate(order_id: int) -> Any:
    """Escalate an order blue → orange → red (supervisors)."""
    _visible_order(order_id, supervision_scope(api_user()))
    order = orders.escalate_order(db.session(), order_id, api_user(), now())
    db.session.commit()
    return _order_response(order)


@bp.get("/stats")
def stats() -> Any:
    """Statistics over `from`..`to` (YYYY-MM-DD, required) per department and item; optional department."""
    scope = supervision_scope(api_user())
    start, end = _date("from"), _date("to")
    if start is None or end is None:
        raise InvalidInput("需要 from 和 to", {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"})
    department = scope.narrow(request.args.get("department") or None)
    return jsonify(stats_json(period_statistics(db.session(), start, end, department, now())))
