"""Catalogue endpoints of the JSON API: `GET /items`, `GET /items/{code}`."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from app.extensions import db
from app.models import ServiceItem
from app.services.catalogue import get_item, list_items
from app.web.api import bp


def item_json(item: ServiceItem, full: bool = False) -> dict[str, Any]:
    """The public view of a catalogue item (办事指南)."""
    body: dict[str, Any] = {
        "code": item.code,
        "name": item.name,
        "department": {"code": item.department.code, "name": item.department.name},
        "type": item.item_type,
        "theme": item.theme,
        "mode": item.mode,
        "process_id": item.process_id,
        "statutory_limit_working_days": item.statutory_limit_days,
        "promised_limit_working_days": item.promised_limit_days,
        "visits": item.visits,
        "online": item.online,
    }
    if full:
        body.update(
            legal_basis=item.legal_basis,
            conditions=item.conditions,
            materials=item.materials,
            special_steps=item.special_steps,
            fee=item.fee,
            lead_department=item.lead_department,
            member_departments=item.member_departments,
            faq=item.faq,
        )
    return body


@bp.get("/items")
def items() -> Any:
    """The service catalogue, filtered by department, theme or text (`q`)."""
    found = list_items(
        db.session(), request.args.get("department"), request.args.get("theme"), request.args.get("q")
    )
    return jsonify({"items": [item_json(item) for item in found], "count": len(found)})


@bp.get("/items/<code>")
def item(code: str) -> Any:
    """One catalogue item with its full guide (materials, legal basis, limits, FAQ)."""
    return jsonify(item_json(get_item(db.session(), code), full=True))
