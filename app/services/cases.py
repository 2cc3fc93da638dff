"""Cases (办件): start a process, complete its human tasks. Every call is one unit of work (flush only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict, Unpack

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.models import Case, HumanTask, ProcessVersion, User
from app.services.audit import event_row
from app.services.case_writes import FinishedTask, write_case
from app.services.delegation import finish_delegation
from app.services.documents import with_document_number
from app.services.errors import InvalidInput, NotFound, WorkflowFailed
from app.services.licences import on_task_completed
from app.services.locking import (
    MAX_OPINION_LENGTH,
    already_handled,
    lock_open_task_for_step,
    lock_task,
    opinion_row,
)
from app.services.numbers import case_number
from app.services.processes import latest_version
from app.services.projection import COUNTERSIGN_FOR, project_result
from app.services.proxies import acting_for
from app.services.runtime import spec_ref, version_form, workflow_engine, working_calendar
from app.services.signers import finish_countersign, refuse_open_countersigns
from app.workflow import Result, TaskNotReady

__all__ = [
    "MAX_OPINION_LENGTH",
    "Completion",
    "complete_task",
    "get_case",
    "lock_task",
    "open_tasks",
    "start_case",
    "start_case_with_tasks",
    "validate_task_data",
]


@dataclass(frozen=True)
class NewTask:
    """A task a step opened: what a caller needs to route it without listing its to-do views again."""

    id: int
    task_uuid: str
    bpmn_id: str
    name: str
    candidate_role: str | None
    candidate_department: str | None
    assignee_id: int | None


@dataclass(frozen=True)
class Completion:
    """What completing a task produced."""

    case: Case
    task: HumanTask
    new_tasks: tuple[NewTask, ...]


@dataclass(frozen=True)
class Started:
    """A started case and the tasks it opened."""

    case: Case
    new_tasks: tuple[NewTask, ...]


def next_tasks(created: Sequence[Mapping[str, Any]], ids: Mapping[str, int]) -> tuple[NewTask, ...]:
    """The new tasks (rows planned by `project_result`, ids from `write_case`) in creation order."""
    fields = ("task_uuid", "bpmn_id", "name", "candidate_role", "candidate_department", "assignee_id")
    tasks = [NewTask(ids[row["task_uuid"]], **{name: row[name] for name in fields}) for row in created]
    return tuple(sorted(tasks, key=lambda task: task.id))


def _checked(result: Result) -> Result:
    if result.status == "error":
        raise WorkflowFailed(
            f"流程无法继续：{result.error} (the diagram could not proceed; nothing was saved)"
        )
    return result


class StartOptions(TypedDict, total=False):
    """How a case is started: its kind (application / document / work_order), title and list metadata."""

    kind: str
    title: str | None
    meta: Mapping[str, Any] | None


def start_case(
    session: Session,
    process_id: str,
    data: Mapping[str, Any],
    actor: User | None,
    now: datetime,
    **options: Unpack[StartOptions],
) -> Case:
    """Start the newest version of a process as a new case with its first tasks projected."""
    return start_case_with_tasks(session, process_id, data, actor, now, **options).case


def start_case_with_tasks(
    session: Session,
    process_id: str,
    data: Mapping[str, Any],
    actor: User | None,
    now: datetime,
    *,
    kind: str = "application",
    title: str | None = None,
    meta: Mapping[str, Any] | None = None,
) -> Started:
    """start_case, also naming the tasks the start opened (ids without reading them back)."""
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
    created, values = project_result(session, case, result, now)
    event = event_row(case, actor, "case.started", {"process": process_id, "version": version.version}, now)
    new_ids = write_case(session, case, values, event=event, new_tasks=created)  # PostgreSQL: one statement
    session.flush()  # the outbox rows project_result added, if any
    return Started(case, next_tasks(created, new_ids))


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
    """Complete a human task: checks, form validation, engine step, projection, opinion, audit.

    A delegated task (委派) completed by the delegate goes back to its owner without an engine step;
    a 加签 row is closed on its own; a task with open 加签 rows cannot complete yet.
    """
    task, proxies_active = lock_open_task_for_step(session, task_id, now)
    on_behalf = acting_for(session, actor, task, now)
    if task.owner_id is not None:
        return Completion(task.case, finish_delegation(session, task, data, actor, now), ())
    if task.properties.get(COUNTERSIGN_FOR):
        return Completion(task.case, finish_countersign(session, task, data, actor, now), ())
    refuse_open_countersigns(session, task)
    case = task.case
    validate_task_data(case.process_version, task, data)
    payload = with_document_number(session, task, data, now)
    try:
        result = workflow_engine().complete(
            spec_ref(case.process_version), case.state, task.task_uuid, payload, now
        )
    except TaskNotReady as not_ready:
        raise already_handled(task) from not_ready
    _checked(result)
    decision = data.get(task.properties.get("decisionField", "decision"))
    # Core statements, no unit-of-work flush: each table written once (docs/architecture.md, cost per step)
    finished = _finish_task(task, actor, now, str(decision)[:40] if decision is not None else None)
    created, values = project_result(
        session, case, result, now, task.task_uuid, finished=task, proxies_active=proxies_active
    )
    opinion = _completion_opinion(task, actor, data, now, on_behalf)
    new_uuids = [row["task_uuid"] for row in created]
    detail = {"task": task.bpmn_id, "task_id": task.id, "decision": task.decision, "next": new_uuids}
    event = event_row(case, actor, "task.completed", detail, now)
    # on PostgreSQL one statement for every row of the step
    new_ids = write_case(
        session, case, values, opinion=opinion, event=event, finished=finished, new_tasks=created
    )
    session.flush()  # anything a hook above left pending (nothing on the plain path)
    on_task_completed(session, case, task, now)  # licences, credit records, 差评 follow-up
    return Completion(case=case, task=task, new_tasks=next_tasks(created, new_ids))


def _finish_task(task: HumanTask, actor: User, now: datetime, decision: str | None) -> FinishedTask:
    """The completed task's new column values (written with the case); the loaded object kept in step."""
    values = {
        "state": "completed",
        "completed_by_id": actor.id,
        "completed_at": now,
        "decision": decision,
        "assignee_id": task.assignee_id if task.assignee_id is not None else actor.id,
    }
    for name, value in values.items():
        set_committed_value(task, name, value)
    return FinishedTask(task.id, values)


def _completion_opinion(
    task: HumanTask, actor: User, data: Mapping[str, Any], now: datetime, on_behalf: int | None
) -> dict[str, Any] | None:
    """The opinion row of a completion, or None when it gives neither a decision nor a text."""
    text = str(data.get("opinion") or "").strip()
    if not text and task.decision is None:
        return None
    return opinion_row(task, actor, task.decision, text, now, on_behalf)


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
