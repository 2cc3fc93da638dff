"""A small supervision world for the page and API tests: people, two departments, alerts, an order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Alert, Case, SupervisionOrder, User
from app.services.accounts import ensure_department
from app.services.alerts import scan_deadlines
from app.services.supervision_orders import issue_order
from tests.factories import create_user
from tests.services import supervision_data as data


@dataclass
class World:
    """Who and what the tests use."""

    people: dict[str, User]
    market_case: Case
    tax_case: Case
    market_alert: Alert
    tax_alert: Alert
    order: SupervisionOrder


def build_world(session: Session, now: datetime) -> World:
    """Users of every kind; a market and a tax case each with an overdue step (yellow cards); a 督办 order."""
    people = {
        "supervisor": create_user(session, now, username="sv", roles=[("supervisor", "supervision")]),
        "admin": create_user(session, now, username="adm", roles=[("admin", None)]),
        "head_market": create_user(session, now, username="hm", roles=[("dept_head", "market")]),
        "head_tax": create_user(session, now, username="ht", roles=[("dept_head", "tax")]),
        "leader": create_user(session, now, username="ld", roles=[("leader", "market")]),
        "approver": create_user(session, now, username="ap", roles=[("approver", "market")]),
        "applicant": create_user(session, now, username="app", roles=[("applicant", None)]),
    }
    pv = data.version(session, now)
    created = now - timedelta(days=3)
    market_item = data.item(session, promised=20)
    tax_item = data.item(session, promised=20)
    tax_item.department = ensure_department(session, "tax", "税务局")
    market_case = data.case(session, pv, created, service_item=market_item)
    tax_case = data.case(session, pv, created, service_item=tax_item)
    data.task(session, market_case, created, now - timedelta(hours=1), name="市场审查", department="market")
    data.task(session, tax_case, created, now - timedelta(hours=1), name="税务审查", department="tax")
    scan_deadlines(session, now)
    alerts = {a.department_code: a for a in session.scalars(select(Alert))}
    order = issue_order(
        session,
        market_case.id,
        "market",
        "请说明超期原因",
        now + timedelta(days=2),
        people["supervisor"],
        now,
    )
    session.commit()
    return World(people, market_case, tax_case, alerts["market"], alerts["tax"], order)
