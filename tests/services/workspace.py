"""Shared setup for the approver-workspace service tests: people and a mini_parallel case at a given step."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.models import Case, HumanTask, User
from app.services.cases import complete_task, open_tasks, start_case
from tests.factories import create_user
from tests.services.helpers import deploy_fixture

BULK = {
    '<spiffworkflow:property name="timeLimitWorkingDays" value="2" />': (
        '<spiffworkflow:property name="timeLimitWorkingDays" value="2" />'
        '<spiffworkflow:property name="bulkApprove" value="true" />'
    )
}


def make_people(session: Session, now: datetime) -> dict[str, User]:
    """A clerk pair, a leader, approvers of two departments, an applicant and a supervisor."""
    return {
        "clerk": create_user(session, now, roles=[("clerk", "approval")], display_name="窗口甲"),
        "clerk2": create_user(session, now, roles=[("clerk", "approval")], display_name="窗口乙"),
        "leader": create_user(session, now, roles=[("leader", "gxq")], display_name="领导"),
        "market": create_user(session, now, roles=[("approver", "market")], display_name="市场审查"),
        "market2": create_user(session, now, roles=[("approver", "market")], display_name="市场审查二"),
        "fire": create_user(session, now, roles=[("approver", "fire")], display_name="消防审查"),
        "head": create_user(session, now, roles=[("dept_head", "market")], display_name="市场科长"),
        "applicant": create_user(session, now, roles=[("applicant", None)], display_name="申请人"),
    }


def new_case(
    session: Session,
    people: dict[str, User],
    now: datetime,
    departments: list[str] | None = None,
    replace: dict[str, str] | None = None,
    title: str | None = None,
) -> Case:
    """A fresh mini_parallel case at 窗口受理."""
    deploy_fixture(session, "mini_parallel", now, replace=replace)
    data = {"departments": departments or ["market"]}
    return start_case(session, "mini_parallel", data, people["clerk"], now, title=title)


def accept_intake(session: Session, case: Case, people: dict[str, User], now: datetime) -> HumanTask:
    """Complete 窗口受理 as the clerk; return the intake task."""
    [intake] = open_tasks(session, case)
    complete_task(session, intake.id, {"decision": "accept"}, people["clerk"], now)
    return intake


def task_named(session: Session, case: Case, bpmn_id: str) -> HumanTask:
    """The single open task of a BPMN id."""
    [task] = [t for t in open_tasks(session, case) if t.bpmn_id == bpmn_id]
    return task
