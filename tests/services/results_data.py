"""Shared data for the results tests: people, a service item, cases driven to their outcomes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.models import Case, Department, ServiceItem, User
from app.services.cases import open_tasks, start_case
from tests.factories import create_user
from tests.processes.scenario import complete, deploy, only_task

MEMBERS = ["tax", "police"]
ISSUED = {
    "licence_no": "91320500MA1XYZ0001",
    "result_documents": ["营业执照.pdf"],
    "delivery_method": "electronic",
    "delivered_on": "2026-11-23",
}


def people(session: Session, now: datetime) -> dict[str, User]:
    """Applicant (an enterprise), window clerk, approvers, market head, supervisor, another applicant."""
    users = {
        "applicant": create_user(session, now, roles=[("applicant", None)], display_name="星辰科技有限公司"),
        "other": create_user(session, now, roles=[("applicant", None)], display_name="王五"),
        "clerk": create_user(session, now, roles=[("clerk", "approval")]),
        "market": create_user(session, now, roles=[("approver", "market")]),
        "head": create_user(session, now, roles=[("dept_head", "market")]),
        "supervisor": create_user(session, now, roles=[("supervisor", "supervision")]),
        "inspector": create_user(session, now, roles=[("inspector", "market")]),
    }
    for dept in MEMBERS:
        users[dept] = create_user(session, now, roles=[("approver", dept)])
    return users


def service_item(session: Session, process_id: str = "parallel_approval", **settings: object) -> ServiceItem:
    """A 行政许可 item of 市场监管局 (market) running `process_id`."""
    market = session.query(Department).filter_by(code="market").one()
    item = ServiceItem(
        code=f"T-{process_id}-{len(settings)}",
        name="企业设立登记",
        department_id=market.id,
        item_type="行政许可",
        materials=[],
        statutory_limit_days=20,
        promised_limit_days=5,
        special_steps=[],
        process_id=process_id,
        mode="parallel",
        member_departments=MEMBERS,
        settings=dict(settings),
        faq=[],
    )
    session.add(item)
    session.flush()
    return item


def start_parallel(
    session: Session, users: dict[str, User], now: datetime, item: ServiceItem | None = None
) -> Case:
    """A 并联审批 case of the applicant (deployed first)."""
    deploy(session, "parallel_approval", now)
    data = {"lead_dept": "market", "member_departments": MEMBERS}
    case = start_case(session, "parallel_approval", data, users["applicant"], now, title="企业设立登记")
    if item is not None:
        case.service_item_id = item.id
        session.flush()
        session.expire(case)
    return case


def approve_parallel(session: Session, case: Case, users: dict[str, User], now: datetime) -> Case:
    """Walk a 并联审批 case along the happy path to 统一出件 and the end."""
    intake = only_task(session, case, "accept_application")
    complete(session, intake, {"decision": "accept", "received_materials": ["章程.pdf"]}, users["clerk"], now)
    complete(
        session,
        only_task(session, case, "lead_check"),
        {"decision": "pass", "opinion": "分送会审"},
        users["market"],
        now,
    )
    for task in open_tasks(session, case):
        review = {"review_decision": "agree", "opinion": "同意"}
        complete(session, task, review, users[task.candidate_department or ""], now)
    decide = only_task(session, case, "lead_decision")
    complete(session, decide, {"decision": "approve", "opinion": "准予"}, users["market"], now)
    complete(session, only_task(session, case, "issue_licence"), ISSUED, users["clerk"], now)
    session.refresh(case)
    return case
