"""Rendering of the task page (shared by the GET view, failed submissions and failed returns)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import render_template
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, User
from app.services.copies import is_participant
from app.services.directory import department_staff, display_names, role_holders
from app.services.operations import return_targets
from app.services.permissions import OVERSIGHT_ROLES
from app.services.projection import COUNTERSIGN_FOR
from app.web.case_context import actor, history_context, step_names
from app.web.clock import now
from app.web.formrender import FieldView, attach_errors


def render_task(
    task: HumanTask,
    views: list[FieldView],
    *,
    errors: Mapping[str, Any] | None = None,
    return_errors: Mapping[str, str] | None = None,
    return_input: Mapping[str, str] | None = None,
    status: int = 200,
) -> Any:
    """The task page with the form's current values and every error next to its field."""
    case = task.case
    version = case.process_version
    step = version.step(task.bpmn_id) or {}
    names = step_names(case)
    form_errors = attach_errors(views, errors or {})
    user = actor()
    context = history_context(case)
    return (
        render_template(
            "tasks/task.html",
            task=task,
            case=case,
            instructions=step.get("instructions") or "",
            fields=views,
            form_errors=form_errors,
            return_choices=[(target, names.get(target, target)) for target in return_targets(task)],
            return_errors=return_errors or {},
            return_input=return_input or {},
            can_claim=task.assignee_id is None and task.candidate_role not in (None, "applicant"),
            can_unclaim=task.assignee_id == user.id and task.candidate_role not in (None, "applicant"),
            now=now(),
            **operation_choices(task, user),
            **context,
        ),
        status,
    )


def operation_choices(task: HumanTask, user: User) -> dict[str, Any]:
    """Who the task may be transferred (same role) or delegated (my departments' staff) to; 抄送 allowed."""
    session = db.session()
    staff_task = task.candidate_role not in (None, "applicant") and task.owner_id is None
    transfer_ids = (
        role_holders(session, task.candidate_role or "", task.candidate_department) if staff_task else []
    )
    delegate_ids = department_staff(session, user.department_codes()) if staff_task else []
    names = display_names(session, {*transfer_ids, *delegate_ids} - {user.id})
    countersign = bool(task.properties.get(COUNTERSIGN_FOR))
    return {
        "signer_choices": []
        if countersign or not staff_task
        else sorted((i, names[i]) for i in delegate_ids if i in names),
        "signer_rows": [] if countersign else removable_signers(task),
        "transfer_choices": sorted((i, names[i]) for i in transfer_ids if i in names),
        "delegate_choices": sorted((i, names[i]) for i in delegate_ids if i in names),
        "can_copy": bool(user.role_codes() & OVERSIGHT_ROLES) or is_participant(session, task.case, user),
    }


def removable_signers(task: HumanTask) -> list[HumanTask]:
    """Open 加签 rows of this task and the other open instances of its step (candidates for 减签)."""
    query = select(HumanTask).where(
        HumanTask.case_id == task.case_id, HumanTask.state == "open", HumanTask.id != task.id
    )
    rows = db.session.scalars(query.order_by(HumanTask.id))
    return [
        row
        for row in rows
        if row.properties.get(COUNTERSIGN_FOR) == task.task_uuid
        or (row.bpmn_id == task.bpmn_id and not row.properties.get(COUNTERSIGN_FOR))
    ]
