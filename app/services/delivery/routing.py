"""Who is told what about an alert, an anomaly or a 特急 document — inbox, e-mail and SMS.

Rules (DESIGN §4, the supervision issue):
- 预警 warning → the handler of the step (inbox + e-mail);
- 黄牌 yellow → the handler and the department head (inbox + e-mail);
- 红牌 red → the supervision office (inbox + e-mail + SMS);
- anomaly → the supervision office (inbox + e-mail);
- 特急 document → each handler of the new step gets an SMS.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Alert, Anomaly, Case, HumanTask, User
from app.services.delivery.outbox import queue_email, queue_sms
from app.services.directory import current_handlers, role_holders
from app.services.events import local_iso
from app.services.notifications import notify_many

LEVEL_NAMES = {"warning": "预警", "yellow": "黄牌", "red": "红牌"}
SMS_ALERT_TEMPLATE = "GOVFLOW_ALERT_RED"
SMS_URGENT_TEMPLATE = "GOVFLOW_URGENT_DOCUMENT"
SUPERVISION_ROLE = "supervisor"
HEAD_ROLE = "dept_head"


@dataclass
class Routing:
    """Who was told, per channel (user ids), for tests and the caller's audit."""

    inbox: list[int] = field(default_factory=list)
    email: list[int] = field(default_factory=list)
    sms: list[int] = field(default_factory=list)


def _contacts(session: Session, user_ids: Iterable[int]) -> list[tuple[int, str | None, str | None]]:
    ids = sorted(set(user_ids))
    if not ids:
        return []
    query = select(User.id, User.email, User.phone).where(User.id.in_(ids), User.active.is_(True))
    return [(row.id, row.email, row.phone) for row in session.execute(query.order_by(User.id))]


def _alert_recipients(session: Session, alert: Alert, task: HumanTask | None) -> list[int]:
    if alert.level == "red":
        return role_holders(session, SUPERVISION_ROLE, None)
    handlers = current_handlers(session, task) if task is not None else []
    if alert.level == "yellow":
        department = alert.department_code or (task.candidate_department if task else None)
        heads = role_holders(session, HEAD_ROLE, department) if department else []
        return list(dict.fromkeys([*handlers, *heads]))
    return handlers


def _tell(
    session: Session,
    recipients: Sequence[int],
    message: Mapping[str, Any],
    key: str,
    now: datetime,
    sms: Mapping[str, Any] | None = None,
) -> Routing:
    """Inbox for everyone, e-mail to those with an address, SMS (if asked) to those with a phone."""
    routing = Routing(inbox=list(recipients))
    case_id = message.get("case_id")
    notify_many(
        session, recipients, message["kind"], message["title"], message["body"], message["link"], case_id, now
    )
    for user_id, email, phone in _contacts(session, recipients):
        if email and queue_email(
            session, email, message["title"], message["body"], now, f"{key}:email:{user_id}", case_id
        ):
            routing.email.append(user_id)
        if sms is not None and phone:
            sms_key = f"{key}:sms:{user_id}"
            if queue_sms(session, phone, sms["template"], sms["params"], now, sms_key, case_id):
                routing.sms.append(user_id)
    return routing


def route_alert(session: Session, alert: Alert, now: datetime) -> Routing:
    """Tell the right people about a new alert (module docstring); e-mail/SMS once per alert and person."""
    session.flush()
    case = session.get_one(Case, alert.case_id)
    task = session.get(HumanTask, alert.human_task_id) if alert.human_task_id else None
    level = LEVEL_NAMES.get(alert.level, alert.level)
    step = f"「{task.name}」" if task is not None else ""
    message = {
        "kind": f"alert.{alert.level}",
        "title": f"【{level}】办件 {case.number}{step}",
        "body": f"{case.title}\n{alert.explanation}\n发生时间：{local_iso(alert.raised_at)}",
        "link": f"/tasks/{task.id}" if task is not None else f"/cases/{case.number}",
        "case_id": case.id,
    }
    params = {"case": case.number, "level": level, "step": task.name if task else ""}
    sms = {"template": SMS_ALERT_TEMPLATE, "params": params} if alert.level == "red" else None
    return _tell(session, _alert_recipients(session, alert, task), message, f"alert:{alert.id}", now, sms)


def route_anomaly(session: Session, anomaly: Anomaly, now: datetime) -> Routing:
    """异常办件 → the supervision office (inbox + e-mail once per anomaly and person)."""
    session.flush()
    case = session.get_one(Case, anomaly.case_id)
    message = {
        "kind": "anomaly",
        "title": f"【异常办件】{case.number}",
        "body": f"{case.title}\n{anomaly.explanation}",
        "link": f"/cases/{case.number}",
        "case_id": case.id,
    }
    recipients = role_holders(session, SUPERVISION_ROLE, None)
    return _tell(session, recipients, message, f"anomaly:{anomaly.id}", now)


def route_urgent_document(
    session: Session, case: Case, new_tasks: Sequence[Mapping[str, Any]], now: datetime
) -> Routing:
    """特急公文: SMS every handler of each new step (rows as inserted by the projection)."""
    routing = Routing()
    for row in new_tasks:
        if row.get("assignee_id") is not None:
            handlers = [int(row["assignee_id"])]
        elif row.get("candidate_role"):
            handlers = role_holders(session, str(row["candidate_role"]), row.get("candidate_department"))
        else:
            handlers = []
        params = {"case": case.number, "title": case.title[:40], "step": row.get("name") or ""}
        for user_id, _email, phone in _contacts(session, handlers):
            key = f"urgent:{case.number}:{case.version}:{row['task_uuid']}:{user_id}"
            if phone and queue_sms(session, phone, SMS_URGENT_TEMPLATE, params, now, key, case.id):
                routing.sms.append(user_id)
    return routing
