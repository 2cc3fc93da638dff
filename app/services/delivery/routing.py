"""Who is told what about an alert, an anomaly or a 特急 document — inbox, e-mail and SMS.

Rules (DESIGN §4, the supervision issue):
- 预警 warning → the handler of the step (inbox + e-mail);
- 黄牌 yellow → the handler and the department head (inbox + e-mail);
- 红牌 red → the supervision office (inbox + e-mail + SMS);
- anomaly → the supervision office (inbox + e-mail);
- 特急 document → each handler of the new step gets an SMS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Alert, Anomaly, Case, HumanTask, User
from app.services.delivery.outbox import queue_email, queue_sms
from app.services.directory import role_holders
from app.services.notifications import notify_many
from app.services.runtime import local_minutes

LEVEL_NAMES = {"warning": "预警", "yellow": "黄牌", "red": "红牌"}
SMS_ALERT_TEMPLATE = "GOVFLOW_ALERT_RED"
SMS_URGENT_TEMPLATE = "GOVFLOW_URGENT_DOCUMENT"
SUPERVISION_ROLE = "supervisor"
HEAD_ROLE = "dept_head"
Holders = Callable[[str, str | None], list[int]]


@dataclass
class Routing:
    """Who was told, per channel (user ids), for tests and the caller's audit."""

    inbox: list[int] = field(default_factory=list)
    email: list[int] = field(default_factory=list)
    sms: list[int] = field(default_factory=list)


def contacts(session: Session, user_ids: Iterable[int]) -> list[tuple[int, str | None, str | None]]:
    ids = sorted(set(user_ids))
    if not ids:
        return []
    query = select(User.id, User.email, User.phone).where(User.id.in_(ids), User.active.is_(True))
    return [(row.id, row.email, row.phone) for row in session.execute(query.order_by(User.id))]


def task_handlers(task: Mapping[str, Any], holders: Holders) -> list[int]:
    """`current_handlers` over task columns: the assignee, else the holders of its role and department."""
    if task.get("assignee_id") is not None:
        return [int(task["assignee_id"])]
    if task.get("candidate_role") is None:
        return []
    return holders(str(task["candidate_role"]), task.get("candidate_department"))


def alert_recipients(
    level: str, department_code: str | None, task: Mapping[str, Any] | None, holders: Holders
) -> list[int]:
    """Who is told about an alert (module docstring); `holders(role, department)` lists role holders."""
    if level == "red":
        return holders(SUPERVISION_ROLE, None)
    handlers = task_handlers(task, holders) if task is not None else []
    if level == "yellow":
        department = department_code or (task.get("candidate_department") if task else None)
        heads = holders(HEAD_ROLE, department) if department else []
        return list(dict.fromkeys([*handlers, *heads]))
    return handlers


def _alert_recipients(session: Session, alert: Alert, task: HumanTask | None) -> list[int]:
    columns = None
    if task is not None:
        columns = {
            "assignee_id": task.assignee_id,
            "candidate_role": task.candidate_role,
            "candidate_department": task.candidate_department,
        }
    return alert_recipients(
        alert.level, alert.department_code, columns, lambda role, dept: role_holders(session, role, dept)
    )


def alert_message(
    alert: Mapping[str, Any], case: Mapping[str, Any], task: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The inbox/e-mail message and the SMS (red only) about an alert: alert level/explanation/raised_at,
    case id/number/title, task id/name."""
    level = LEVEL_NAMES.get(alert["level"], alert["level"])
    step = f"「{task['name']}」" if task is not None else ""
    message = {
        "kind": f"alert.{alert['level']}",
        "title": f"【{level}】办件 {case['number']}{step}",
        "body": f"{case['title']}\n{alert['explanation']}\n发生时间：{local_minutes(alert['raised_at'])}",
        "link": f"/tasks/{task['id']}" if task is not None else f"/cases/{case['number']}",
        "case_id": case["id"],
    }
    params = {"case": case["number"], "level": level, "step": task["name"] if task else ""}
    sms = {"template": SMS_ALERT_TEMPLATE, "params": params} if alert["level"] == "red" else None
    return message, sms


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
    for user_id, email, phone in contacts(session, recipients):
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
    message, sms = alert_message(
        {"level": alert.level, "explanation": alert.explanation, "raised_at": alert.raised_at},
        {"id": case.id, "number": case.number, "title": case.title},
        {"id": task.id, "name": task.name} if task is not None else None,
    )
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
        for user_id, _email, phone in contacts(session, handlers):
            key = f"urgent:{case.number}:{case.version}:{row['task_uuid']}:{user_id}"
            if phone and queue_sms(session, phone, SMS_URGENT_TEMPLATE, params, now, key, case.id):
                routing.sms.append(user_id)
    return routing
