"""Task page buttons besides 提交: 退回, 认领, 取消认领."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.extensions import db
from app.services.errors import InvalidInput
from app.services.operations import claim_task, return_targets, return_task, unclaim_task
from app.web.case_context import actor
from app.web.clock import now
from app.web.formrender import form_fields
from app.web.task_page import render_task
from app.web.tasks import actionable_task, bp, task_form


@bp.post("/tasks/<int:task_id>/return")
@login_required
def return_(task_id: int) -> Any:
    """退回: to one of the step's returnTargets, with a required reason."""
    task = actionable_task(task_id)
    target = request.form.get("target", "")
    reason = request.form.get("reason", "").strip()
    errors = {}
    if target not in return_targets(task):
        errors["target"] = _("请选择退回到哪一步")
    if not reason:
        errors["reason"] = _("请填写退回理由")
    if errors:
        inputs = {"target": target, "reason": reason}
        return render_task(
            task, form_fields(task_form(task), task), return_errors=errors, return_input=inputs, status=400
        )
    try:
        returned = return_task(db.session(), task.id, target, reason, actor(), now())
    except InvalidInput as invalid:
        db.session.rollback()
        flash(invalid.message, "error")
        return redirect(url_for("tasks.task_page", task_id=task_id))
    number = returned.case.number
    db.session.commit()
    flash(_("已退回：%(case)s", case=number), "success")
    return redirect(url_for("tasks.task_list"))


@bp.post("/tasks/<int:task_id>/claim")
@login_required
def claim(task_id: int) -> Any:
    """认领: make the task mine alone."""
    actionable_task(task_id)
    claim_task(db.session(), task_id, actor(), now())
    db.session.commit()
    flash(_("已认领此任务。"), "success")
    return redirect(url_for("tasks.task_page", task_id=task_id))


@bp.post("/tasks/<int:task_id>/unclaim")
@login_required
def unclaim(task_id: int) -> Any:
    """取消认领: give the task back to the other candidates."""
    actionable_task(task_id)
    unclaim_task(db.session(), task_id, actor(), now())
    db.session.commit()
    flash(_("已取消认领，任务回到可认领列表。"), "success")
    return redirect(url_for("tasks.task_list", view="claimable"))
