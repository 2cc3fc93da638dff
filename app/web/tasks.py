"""Approver workspace pages: to-do lists and the task page."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.forms_schema import FormSchema
from app.models import HumanTask
from app.services.case_views import department_names, next_task_for
from app.services.cases import complete_task
from app.services.errors import InvalidInput, NotFound, TaskAlreadyHandled
from app.services.proxies import acting_for
from app.services.runtime import version_form
from app.services.task_counts import count_tasks
from app.services.task_lists import list_tasks, principal_names
from app.services.task_rows import DUE_STATES, VIEWS, TaskFilters
from app.web import display
from app.web.case_context import actor, handled_error
from app.web.clock import now
from app.web.formrender import FieldView, field_errors, fill_from_request, form_fields, submitted_data
from app.web.task_page import render_task
from app.web.task_queries import filter_options

bp = Blueprint("tasks", __name__)
PER_PAGE = 20
display.register(bp)


@bp.app_context_processor
def _navigation() -> dict[str, Any]:
    return {"workspace_counts": _counts}


def _counts() -> dict[str, int] | None:
    if not current_user.is_authenticated or not (current_user.role_codes() - {"applicant"}):
        return None
    try:
        return count_tasks(db.session(), actor(), now())
    except SQLAlchemyError:  # the navigation must never break an error page
        db.session.rollback()
        return None


@bp.errorhandler(TaskAlreadyHandled)
def _handled(error: TaskAlreadyHandled) -> Any:
    db.session.rollback()
    details = error.details if isinstance(error.details, dict) else {}
    return render_template("tasks/handled.html", case_number=details.get("case")), 409


def _date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _filters(args: MultiDict[str, str]) -> TaskFilters:
    due = args.get("due", "")
    return TaskFilters(
        process_id=args.get("process", "").strip()[:120] or None,
        department=args.get("department", "").strip()[:40] or None,
        due_state=due if due in DUE_STATES else None,  # type: ignore[arg-type]
        date_from=_date(args.get("from")),
        date_to=_date(args.get("to")),
        q=args.get("q", "").strip()[:100] or None,
    )


@bp.get("/tasks")
@login_required
def task_list() -> Any:
    """待办 / 可认领 / 已办 / 抄送 with filters, search and pagination; most urgent first."""
    view = request.args.get("view", "todo")
    view = view if view in VIEWS else "todo"
    filters = _filters(request.args)
    page_number = request.args.get("page", 1, type=int) or 1
    page = list_tasks(db.session(), actor(), view, filters, max(1, page_number), PER_PAGE, now())
    processes, departments = filter_options(db.session())
    return render_template(
        "tasks/list.html",
        view=view,
        filters=filters,
        page=page,
        processes=processes,
        departments=departments,
        department_names=department_names(db.session()),
        principals=principal_names(db.session(), page.items),
        now=now(),
    )


def actionable_task(task_id: int) -> HumanTask:
    """An open task the signed-in user may act on: 404, 409 (already handled) or 403 otherwise."""
    task = db.session.get(HumanTask, task_id)
    if task is None:
        raise NotFound(_("任务不存在"))
    if task.state != "open" or task.case.status != "open":
        raise handled_error(task)
    acting_for(db.session(), actor(), task, now())  # PermissionDenied: neither mine nor my principal's
    return task


def task_form(task: HumanTask) -> FormSchema | None:
    """The task's form as deployed with the case's version (None for a step without a form)."""
    return version_form(task.case.process_version, task.form) if task.form else None


@bp.get("/tasks/<int:task_id>")
@login_required
def task_page(task_id: int) -> Any:
    """The task: instructions, its form, the case's opinions, timeline and diagram."""
    task = actionable_task(task_id)
    return render_task(task, form_fields(task_form(task), task))


@bp.post("/tasks/<int:task_id>")
@login_required
def complete(task_id: int) -> Any:
    """提交: validate every field, complete the task, continue with my next task of the case."""
    task = actionable_task(task_id)
    form = task_form(task)
    views = form_fields(form, task)
    data = submitted_data(form, views, request.form)
    errors = field_errors(form, task, views, data)
    if errors:
        return _invalid(task, views, errors)
    try:
        completion = complete_task(db.session(), task.id, data, actor(), now())
    except InvalidInput as invalid:
        db.session.rollback()
        details = invalid.details if isinstance(invalid.details, dict) else {"_form": invalid.message}
        return _invalid(db.session.get(HumanTask, task_id) or task, views, details)
    case_number, step = completion.case.number, completion.task.name
    following = next_task_for(db.session(), completion.case, actor(), now())
    db.session.commit()
    flash(_("已提交：%(case)s %(step)s", case=case_number, step=step), "success")
    if following is not None:
        return redirect(url_for("tasks.task_page", task_id=following.id))
    return redirect(url_for("tasks.task_list"))


def _invalid(task: HumanTask, views: list[FieldView], errors: dict[str, Any]) -> Any:
    fill_from_request(views, request.form)
    return render_task(task, views, errors=errors, status=400)


from app.web import task_actions as _task_actions  # noqa: E402,F401  (claim, unclaim, 退回 routes)
from app.web import task_operations as _task_operations  # noqa: E402,F401  (转办, 委派, 抄送, 催办, 撤回)
