"""加签 / 减签 on the task page and 批量审批 on the 待办 list (routes on the tasks blueprint)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.services.bulk import MAX_BULK, BulkResult, bulk_complete
from app.services.errors import InvalidInput
from app.services.runtime import version_form
from app.services.signers import add_signer, remove_signer
from app.web.case_context import actor
from app.web.clock import now
from app.web.task_operations import _attempt, _task_url
from app.web.tasks import bp


def _signer() -> int | str:
    """`u:<id>` → a user id, `d:<code>` → a department code (InvalidInput otherwise)."""
    kind, _sep, value = request.form.get("signer", "").partition(":")
    if kind == "u" and value.isdigit():
        return int(value)
    if kind == "d" and value.strip():
        return value.strip()[:40]
    raise InvalidInput(_("请选择加签人或部门"), {"signer": "required"})


@bp.post("/tasks/<int:task_id>/signers")
@login_required
def add_signer_view(task_id: int) -> Any:
    """加签: another person or department must give an opinion before this task completes."""
    note = request.form.get("note", "")
    added = _attempt(
        lambda: add_signer(db.session(), task_id, _signer(), actor(), now(), note), _task_url(task_id)
    )
    if not isinstance(added, HumanTask):
        return added
    db.session.commit()
    flash(_("已加签：%(step)s", step=added.name), "success")
    return redirect(_task_url(task_id))


@bp.post("/tasks/<int:task_id>/signers/<int:row_id>/remove")
@login_required
def remove_signer_view(task_id: int, row_id: int) -> Any:
    """减签: cancel an added signer, or remove one open instance of a parallel 会签."""
    reason = request.form.get("reason", "")
    removed = _attempt(
        lambda: remove_signer(db.session(), row_id, actor(), now(), reason), _task_url(task_id)
    )
    if not isinstance(removed, HumanTask):
        return removed
    db.session.commit()
    flash(_("已减签。"), "success")
    return redirect(_task_url(task_id))


@bp.app_template_global("bulk_approvable")
def bulk_approvable(task_ids: Iterable[int | None]) -> set[int]:
    """Which of these tasks allow 批量审批 (property bulkApprove = true)."""
    ids = [i for i in task_ids if i is not None]
    if not ids:
        return set()
    rows = db.session.execute(select(HumanTask.id, HumanTask.properties).where(HumanTask.id.in_(ids)))
    return {task_id for task_id, properties in rows.tuples() if properties.get("bulkApprove") == "true"}


def _approval(task: HumanTask, opinion: str) -> dict[str, Any]:
    """同意: the first option of the step's decision field (the forms list the positive one first)."""
    field = task.properties.get("decisionField", "decision")
    form = version_form(task.case.process_version, task.form) if task.form else None
    spec = next((f for f in form.fields() if f.name == field), None) if form else None
    data: dict[str, Any] = {"opinion": opinion or "同意"}
    if spec is not None and spec.enum:
        data[field] = spec.enum[0]
    return data


@bp.post("/tasks/bulk")
@login_required
def bulk_approve() -> Any:
    """批量审批: approve the ticked tasks (same opinion); one result line per task."""
    ids = [int(v) for v in request.form.getlist("task_ids") if v.isdigit()][:MAX_BULK]
    opinion = request.form.get("opinion", "").strip()
    tasks = db.session.scalars(select(HumanTask).where(HumanTask.id.in_(ids))).all() if ids else []
    groups: dict[str, tuple[dict[str, Any], list[int]]] = defaultdict(lambda: ({}, []))
    for task in tasks:
        data = _approval(task, opinion)
        key = repr(sorted(data.items()))
        groups[key][0].update(data)
        groups[key][1].append(task.id)
    missing = [i for i in ids if i not in {t.id for t in tasks}]
    if missing:
        groups["missing"] = ({"opinion": opinion}, missing)
    if not ids:
        flash(_("请先勾选要批量审批的任务。"), "error")
        return redirect(url_for("tasks.task_list"))
    results: list[BulkResult] = []
    for data, group in groups.values():
        results.extend(bulk_complete(db.session(), group, data, actor(), now()))
    db.session.commit()
    _report(results, {t.id: t.case.number for t in tasks})
    return redirect(url_for("tasks.task_list"))


def _report(results: list[BulkResult], numbers: dict[int, str]) -> None:
    ok = sum(1 for r in results if r.ok)
    flash(_("批量审批：成功 %(ok)s 件，失败 %(failed)s 件。", ok=ok, failed=len(results) - ok), "success")
    for result in results:
        label = numbers.get(result.task_id, f"#{result.task_id}")
        if result.ok:
            flash(_("%(case)s：已审批", case=label), "success")
        else:
            flash(_("%(case)s：%(message)s", case=label, message=result.message or result.error), "error")
