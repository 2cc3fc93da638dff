"""The service catalogue (事项): list and look up items, seed the demo catalogue."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.models import Department, ServiceItem
from app.services.accounts import ensure_department
from app.services.catalogue_data import DEPARTMENT_NAMES, ITEMS
from app.services.errors import NotFound

MAX_QUERY_LENGTH = 100
#: processes govflow starts by itself (not applied for through the catalogue)
INTERNAL_PROCESS_IDS = frozenset({"evaluation_rectification"})


def list_items(
    session: Session, department: str | None = None, theme: str | None = None, query: str | None = None
) -> list[ServiceItem]:
    """Active items by code, filtered by department code, theme, or text in name/code (any case)."""
    statement = select(ServiceItem).where(ServiceItem.active.is_(True)).order_by(ServiceItem.code)
    if department:
        statement = statement.join(ServiceItem.department).where(Department.code == department)
    if theme:
        statement = statement.where(ServiceItem.theme == theme)
    text = (query or "").strip()[:MAX_QUERY_LENGTH]
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(
            or_(ServiceItem.name.ilike(pattern, escape="\\"), ServiceItem.code.ilike(pattern, escape="\\"))
        )
    return list(session.scalars(statement).unique())


def get_item(session: Session, code: str) -> ServiceItem:
    """The catalogue item with this code, or NotFound."""
    item = session.scalar(select(ServiceItem).where(ServiceItem.code == code))
    if item is None:
        raise NotFound("事项不存在 (no such service item)", {"code": code})
    return item


def seed_catalogue(session: Session) -> int:
    """Create the missing demo catalogue items (and their departments); return how many were created."""
    existing = set(session.scalars(select(ServiceItem.code)))
    created = 0
    for entry in ITEMS:
        if entry["code"] in existing:
            continue
        session.add(_item(session, entry))
        created += 1
    session.flush()
    return created


def _item(session: Session, entry: dict[str, Any]) -> ServiceItem:
    code = entry["department"]
    department = ensure_department(session, code, DEPARTMENT_NAMES.get(code, code))
    fields = {key: copy.deepcopy(value) for key, value in entry.items() if key != "department"}
    fields.setdefault("settings", {})
    return ServiceItem(department=department, **fields)
