"""Drive the shipped diagrams through the service layer: deploy the real BPMN and forms, walk tasks.

Every `complete_task` call reloads the workflow from the database (the case's serialized state) and
saves it again, so each scenario step is a save/restore of the workflow at a user task.

Expected due dates are worked out by hand from the 2026 official calendar (国务院办公厅 2026 年部分
节假日安排) and written next to each assertion. The fixed clock is Monday 2026-11-23 09:30 Shanghai; the
weeks that follow have no holiday, so N working days are N weekdays: +1 Tue 11-24, +2 Wed 11-25,
+3 Thu 11-26, +5 Mon 11-30, +7 Wed 12-02, +10 Mon 12-07, +13 Thu 12-10, +15 Mon 12-14.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEvent, Case, HumanTask, Opinion, OutboxEvent, ProcessVersion, User
from app.services.cases import Completion, complete_task, open_tasks
from app.services.processes import deploy_process, read_process_source
from app.services.runtime import spec_ref, workflow_engine, working_calendar

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ROOT / "processes"
FORMS = ROOT / "forms"


def deploy(session: Session, process_id: str, now: datetime) -> ProcessVersion:
    """Deploy processes/<process_id>.bpmn with the forms it references."""
    source = read_process_source([PROCESSES / f"{process_id}.bpmn"], FORMS)
    return deploy_process(session, source, None, now).version


def open_ids(session: Session, case: Case) -> list[str]:
    """The BPMN ids of the case's open tasks, sorted."""
    return sorted(task.bpmn_id for task in open_tasks(session, case))


def only_task(session: Session, case: Case, bpmn_id: str) -> HumanTask:
    """The single open task of the case, which must be `bpmn_id`."""
    tasks = open_tasks(session, case)
    assert [t.bpmn_id for t in tasks] == [bpmn_id], [t.bpmn_id for t in tasks]
    return tasks[0]


def candidates(task: HumanTask) -> tuple[str | None, str | None]:
    """(candidate role, candidate department) of a task."""
    return task.candidate_role, task.candidate_department


def due_date(task: HumanTask) -> date | None:
    """The local (Shanghai) date a task is due, or None."""
    return working_calendar().local_date(task.due_at) if task.due_at else None


def complete(
    session: Session, task: HumanTask, data: Mapping[str, Any], actor: User, now: datetime
) -> Completion:
    """Complete a task as `actor` and expire the session so the next read comes from the database."""
    completion = complete_task(session, task.id, data, actor, now)
    session.flush()
    session.expire_all()
    return completion


def opinions(session: Session, case: Case) -> list[tuple[str, str | None, str | None, str]]:
    """(step name, role, decision, text) of every opinion on the case, oldest first."""
    rows = session.scalars(select(Opinion).where(Opinion.case_id == case.id).order_by(Opinion.id))
    return [(o.step_name, o.role, o.decision, o.text) for o in rows]


def outbox_kinds(session: Session, case: Case) -> list[str]:
    """Kinds of the outbound BPMN events (outbox channel bpmn) written for the case."""
    query = select(OutboxEvent).where(OutboxEvent.case_id == case.id, OutboxEvent.channel == "bpmn")
    rows = session.scalars(query.order_by(OutboxEvent.id))
    return [row.kind for row in rows]


def done_steps(session: Session, case: Case) -> list[str]:
    """BPMN ids of the case's completed tasks in completion order (from the audit trail)."""
    rows = session.scalars(
        select(AuditEvent.detail)
        .where(AuditEvent.case_id == case.id, AuditEvent.action == "task.completed")
        .order_by(AuditEvent.id)
    )
    return [str(detail["task"]) for detail in rows]


def ready_data(case: Case, bpmn_id: str) -> Mapping[str, Any]:
    """The workflow data a READY task of the case sees (read from the saved state)."""
    result = workflow_engine().inspect(spec_ref(case.process_version), case.state)
    return next(info.data for info in result.ready if info.bpmn_id == bpmn_id)
