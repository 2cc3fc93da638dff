"""Cases (办件): start a process, complete its human tasks. Every call is one unit of work (flush only)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session, contains_eager

from app.models import Case, HumanTask, Opinion, ProcessVersion, User
from app.services.audit import record_event
from app.services.documents import with_document_number
from app.services.errors import InvalidInput, NotFound, PermissionDenied, TaskAlreadyHandled, WorkflowFailed
from app.services.numbers import case_number
from app.services.permissions import may_act
from app.services.processes import latest_version
from app.services.projection import apply_result
from app.services.runtime import spec_ref, version_form, workflow_engine, working_calendar
from app.workflow import Result, TaskNotReady

MAX_OPINION_LENGTH = 4000


@dataclass(frozen=True)
class Completion:
    """What completing a task produced."""

    case: Case
    task: HumanTask
    new_task_uuids: tuple[str, ...]


def _checked(result: Result) -> Result:
    if result.status == "error":
        raise WorkflowFailed(
            f"流程无法继续：{result.error} (the diagram could not proceed; nothing was saved)"
        )
    return result


def start_case(
    session: Session,
    process_id: str,
    data: Mapping[str, Any],
    actor: User | None,
    now: datetime,
    *,
    kind: str = "application",
    title: str | None = None,
    meta: Mapping[str, Any] | None = None,
) -> Case:
    """Start the newest version of a process as a new case with its first tasks projected."""
    version = latest_version(session, process_id)
    result = _checked(workflow_engine().start(spec_ref(version), dict(data), now))
    year = working_calendar().local_date(now).year
    case = Case(
        number=case_number(session, year),
        kind=kind,
        title=title or version.name,
        process_version=version,
        status="open",
        state="",
        data=dict(meta or {}),
        originator=actor,
        open_task_uuids=[],
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    apply_result(session, case, result, now)
    record_event(
        session, case, actor, "case.started", {"process": process_id, "version": version.version}, now
    )
    session.flush()
    return case


_LOCK_TASK = (
    select(HumanTask)
    .join(HumanTask.case)
    .join(Case.process_version)
    .options(contains_eager(HumanTask.case).contains_eager(Case.process_version))
    .where(HumanTask.id == bindparam("task_id"))
    .with_for_update(of=[HumanTask, Case])
    .execution_options(populate_existing=True)
)
_INSERT_OPINION = insert(Opinion)


def lock_task(session: Session, task_id: int) -> HumanTask:
    """Load a task with its case and version, locking the task and case rows (PostgreSQL) for this unit."""
    task = session.scalar(_LOCK_TASK, {"task_id": task_id})
    if task is None:
        raise NotFound("任务不存在 (no such task)")
    return task


def _already_handled(task: HumanTask) -> TaskAlreadyHandled:
    who = task.completed_by.display_name if task.completed_by else None
    details = {"case": task.case.number, "state": task.state, "completed_by": who}
    return TaskAlreadyHandled("此任务已被处理 (this task was already handled)", details)


def validate_task_data(version: ProcessVersion, task: HumanTask, data: Mapping[str, Any]) -> None:
    """Check submitted data against the task's form; raise InvalidInput with every field error."""
    form = version_form(version, task.form) if task.form else None
    errors = form.validate(data) if form else []
    opinion = data.get("opinion")
    if isinstance(opinion, str) and len(opinion) > MAX_OPINION_LENGTH:
        raise InvalidInput("意见过长", {"opinion": f"不能超过 {MAX_OPINION_LENGTH} 个字符"})
    if task.properties.get("opinionRequired") == "true" and not str(data.get("opinion") or "").strip():
        raise InvalidInput("请填写意见", {"opinion": "此步骤必须填写意见"})
    if errors:
        raise InvalidInput("表单填写有误，请修改后重新提交", {e.path or "_form": e.message for e in errors})


def complete_task(
    session: Session, task_id: int, data: Mapping[str, Any], actor: User, now: datetime
) -> Completion:
    """Complete a human task: checks, form validation, engine step, projection, opinion, audit."""
    task = lock_task(session, task_id)
    if task.state != "open":
        raise _already_handled(task)
    if not may_act(actor, task):
        raise PermissionDenied("您不是此任务的办理人 (you may not act on this task)")
    case = task.case
    if case.status != "open":
        raise TaskAlreadyHandled("办件已结束或已暂停 (the case is not open)", {"case": case.number})
    validate_task_data(case.process_version, task, data)
    payload = with_document_number(session, task, data, now)
    try:
        result = workflow_engine().complete(
            spec_ref(case.process_version), case.state, task.task_uuid, payload, now
        )
    except TaskNotReady as not_ready:
        raise _already_handled(task) from not_ready
    _checked(result)
    decision = data.get(task.properties.get("decisionField", "decision"))
    with session.no_autoflush:  # one flush at the end: each table written once
        task.state, task.completed_by_id, task.completed_at = "completed", actor.id, now
        task.decision = str(decision)[:40] if decision is not None else None
        if task.assignee_id is None:
            task.assignee_id = actor.id
        new_tasks = apply_result(session, case, result, now, completed_uuid=task.task_uuid)
        _record_opinion(session, task, actor, data, now)
        detail = {"task": task.bpmn_id, "decision": task.decision}
        record_event(session, case, actor, "task.completed", detail, now)
    session.flush()
    return Completion(case=case, task=task, new_task_uuids=tuple(new_tasks))


def _record_opinion(
    session: Session, task: HumanTask, actor: User, data: Mapping[str, Any], now: datetime
) -> None:
    text = str(data.get("opinion") or "").strip()
    if not text and task.decision is None:
        return
    membership = next((m for m in actor.memberships if m.role.code == task.candidate_role), None)
    params = {
        "case_id": task.case_id,
        "human_task_id": task.id,
        "step_name": task.name,
        "author_id": actor.id,
        "on_behalf_of_id": None,
        "role": task.candidate_role,
        "department": membership.department_code if membership else task.candidate_department,
        "decision": task.decision,
        "text": text[:MAX_OPINION_LENGTH],
        "created_at": now,
    }
    session.connection().execute(_INSERT_OPINION, params)


def get_case(session: Session, number: str) -> Case:
    """A case by number, or NotFound."""
    case = session.scalar(select(Case).where(Case.number == number))
    if case is None:
        raise NotFound("办件不存在 (no such case)")
    return case


def open_tasks(session: Session, case: Case) -> list[HumanTask]:
    """The case's open human tasks, oldest first."""
    query = (
        select(HumanTask)
        .where(HumanTask.case_id == case.id, HumanTask.state == "open")
        .order_by(HumanTask.id)
    )
    return list(session.scalars(query))
