"""Workspace operations on the pages: 转办, 委派, 抄送, 催办, 撤回, and opening a 抄送.

Each view: load → one service call → commit → redirect with a flash; a refused operation (bad input,
conflict) is flashed on the page it came from. Already handled → 409 page, not mine → 403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.extensions import db
from app.models import Case, HumanTask
from app.services.copies import copy_case, mark_copy_read
from app.services.delegation import delegate_task, transfer_task
from app.services.errors import Conflict, InvalidInput, NotFound, TaskAlreadyHandled
from app.services.operations import urge_task, withdraw_completion
from app.web.case_context import actor
from app.web.clock import now
from app.web.tasks import bp

REFUSED = (InvalidInput, Conflict, NotFound)


def _attempt(operation: Callable[[], Any], back: str) -> Any:
    """Run one service call; a refusal (not a 409/403) becomes a flash on the page the user came from."""
    try:
        return operation()
    except TaskAlreadyHandled:
        raise
    except REFUSED as refused:
        db.session.rollback()
        flash(refused.message, "error")
        return redirect(back)


def _user_id() -> int:
    raw = request.form.get("to_user_id", "")
    return int(raw) if raw.isdigit() else 0


def _task_url(task_id: int) -> str:
    return url_for("tasks.task_page", task_id=task_id)


@bp.post("/tasks/<int:task_id>/transfer")
@login_required
def transfer(task_id: int) -> Any:
    """转办: hand the task to another holder of its role; the reason is kept as an opinion."""
    reason = request.form.get("reason", "")
    done = _attempt(
        lambda: transfer_task(db.session(), task_id, _user_id(), reason, actor(), now()), _task_url(task_id)
    )
    if not isinstance(done, HumanTask):
        return done
    db.session.commit()
    flash(_("已转办。"), "success")
    return redirect(url_for("tasks.task_list"))


@bp.post("/tasks/<int:task_id>/delegate")
@login_required
def delegate(task_id: int) -> Any:
    """委派: ask a colleague for an opinion; the task comes back to me afterwards."""
    note = request.form.get("note", "")
    done = _attempt(
        lambda: delegate_task(db.session(), task_id, _user_id(), note, actor(), now()), _task_url(task_id)
    )
    if not isinstance(done, HumanTask):
        return done
    db.session.commit()
    flash(_("已委派，对方办理后任务将回到您的待办。"), "success")
    return redirect(url_for("tasks.task_list"))


@bp.post("/tasks/<int:task_id>/copy")
@login_required
def copy(task_id: int) -> Any:
    """抄送: copy the case to the staff of the chosen departments, with a note."""
    task = db.session.get(HumanTask, task_id)
    if task is None:
        raise NotFound(_("任务不存在"))
    departments = request.form.getlist("departments")
    note = request.form.get("note", "")
    copies = _attempt(
        lambda: copy_case(db.session(), task.case_id, [], departments, note, actor(), now(), task_id=task_id),
        _task_url(task_id),
    )
    if not isinstance(copies, list):
        return copies
    db.session.commit()
    flash(_("已抄送 %(n)s 人。", n=len(copies)), "success")
    return redirect(_task_url(task_id))


@bp.post("/tasks/<int:task_id>/urge")
@login_required
def urge(task_id: int) -> Any:
    """催办: remind whoever holds an open task (from the case page)."""
    task = db.session.get(HumanTask, task_id)
    if task is None:
        raise NotFound(_("任务不存在"))
    back = url_for("cases.case_page", number=task.case.number)
    note = request.form.get("note", "")
    urged = _attempt(lambda: urge_task(db.session(), task_id, note, actor(), now()), back)
    if not isinstance(urged, list):
        return urged
    db.session.commit()
    flash(_("已催办 %(n)s 人。", n=len(urged)), "success")
    return redirect(back)


@bp.post("/tasks/<int:task_id>/withdraw")
@login_required
def withdraw(task_id: int) -> Any:
    """撤回: take back my completion while the next steps are untouched; the task reopens for me."""
    back = url_for("tasks.task_list", view="done")
    reopened = _attempt(lambda: withdraw_completion(db.session(), task_id, actor(), now()), back)
    if not isinstance(reopened, HumanTask):
        return reopened
    db.session.commit()
    flash(_("已撤回，任务已回到您的待办。"), "success")
    return redirect(_task_url(reopened.id))


@bp.get("/tasks/copies/<int:copy_id>")
@login_required
def open_copy(copy_id: int) -> Any:
    """Open a 抄送: mark it read and show the case."""
    copied = mark_copy_read(db.session(), copy_id, actor(), now())
    case = db.session.get(Case, copied.case_id)
    number = case.number if case else ""
    db.session.commit()
    return redirect(url_for("cases.case_page", number=number))


from app.web import task_signers as _task_signers  # noqa: E402,F401  (加签, 减签, 批量审批)
