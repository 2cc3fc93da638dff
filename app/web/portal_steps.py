"""Applicant portal, part three: the applicant's own steps of a case, in the portal's words.

补正 (the one-time notice with every item, one upload per material), 容缺受理承诺书 to sign and
告知承诺书 (the 告知书 to read, then the commitment) — instead of the staff task page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.models import Case, HumanTask
from app.services.case_views import case_data
from app.services.cases import complete_task
from app.services.errors import InvalidInput, NotFound
from app.services.materials import add_case_material
from app.services.notices import available_notices, build_notice
from app.services.runtime import working_calendar
from app.web.case_context import actor
from app.web.clock import now
from app.web.formrender import (
    OPINION_FIELD,
    FieldView,
    attach_errors,
    field_errors,
    fill_from_request,
    form_fields,
    submitted_data,
)
from app.web.portal import bp, upload_limits
from app.web.portal_cases import my_case
from app.web.tasks import task_form

SUPPLEMENT_FORM = "supplement_materials.schema.json"
PROMISE_FORM = "tolerance_promise.schema.json"
COMMITMENT_FORM = "commitment_sign.schema.json"
NOTE_LIMIT = 1000


def my_step(case: Case, task_id: int) -> HumanTask:
    """An open step of my case assigned to me; anything else is 404 (a handled step: back to the case)."""
    task = db.session.get(HumanTask, task_id)
    if task is None or task.case_id != case.id or task.assignee_id != actor().id:
        raise NotFound(_("任务不存在"))
    return task


def _views(task: HumanTask) -> list[FieldView]:
    views = form_fields(task_form(task), task)
    hidden = {OPINION_FIELD} if task.properties.get("opinionRequired") != "true" else set()
    if task.form == SUPPLEMENT_FORM:
        hidden |= {"materials"}  # the files themselves are the answer (one upload per material)
    return [v for v in views if v.name not in hidden]


def _defaults(case: Case, task: HumanTask, views: list[FieldView]) -> None:
    """Fill what the portal already knows: the 容缺 materials, the signatory, today's date."""
    meta, data = case.data or {}, case_data(case)
    names = {m["code"]: m["name"] for m in (case.service_item.materials if case.service_item else [])}
    today = working_calendar().local_date(now()).isoformat()
    promised = [names.get(code, code) for code in meta.get("tolerated") or []]
    known: dict[str, str] = {
        "promised_items": "\n".join(promised or [str(i) for i in data.get("tolerated_items") or []]),
        "signatory": str(meta.get("contact_name") or meta.get("applicant_name") or ""),
        "signed_on": today,
    }
    if case.promised_due_at is not None:
        known["supplement_deadline"] = working_calendar().local_date(case.promised_due_at).isoformat()
    for view in views:
        if view.name in known and not view.value:
            view.value = known[view.name]


def _render(
    case: Case, task: HumanTask, views: list[FieldView], problems: list[str], status: int = 200
) -> Any:
    session = db.session()
    notices = available_notices(session, case)
    supplement = build_notice(session, case, "supplement") if "supplement" in notices else None
    body = render_template(
        "portal/step.html",
        case=case,
        task=task,
        item=case.service_item,
        fields=views,
        problems=problems,
        kind={SUPPLEMENT_FORM: "supplement", PROMISE_FORM: "promise", COMMITMENT_FORM: "commitment"}.get(
            task.form or "", "other"
        ),
        supplement=supplement,
        asked_codes=_asked(case, supplement.items if supplement else ()),
        tolerated=(case.data or {}).get("tolerated") or [],
    )
    return body, status


def _asked(case: Case, lines: Sequence[str]) -> set[str]:
    """Codes of the materials the 补正 notice names."""
    item = case.service_item
    return {
        str(m["code"]) for m in (item.materials if item else []) if any(m["name"] in line for line in lines)
    }


@bp.get("/my/cases/<number>/steps/<int:task_id>")
@login_required
def step_page(number: str, task_id: int) -> Any:
    """My step: the 补正 notice with uploads, the 容缺 promise letter, or the 告知书 and commitment."""
    case = my_case(number)
    task = my_step(case, task_id)
    if task.state != "open" or case.status != "open":
        flash(_("此环节已办理。"), "success")
        return redirect(url_for("portal.my_case_page", number=number))
    views = _views(task)
    _defaults(case, task, views)
    return _render(case, task, views, [])


def _supplied(case: Case) -> list[str]:
    """Store each posted file under its material; return '<material>：<file>' lines."""
    item = case.service_item
    lines: list[str] = []
    for spec in item.materials if item else []:
        file = request.files.get(f"file-{spec['code']}")
        if file is None or not file.filename:
            continue
        material = add_case_material(
            db.session(), case, actor(), str(spec["code"]), file.filename, file.stream, upload_limits(), now()
        )
        lines.append(f"{spec['name']}：{material.filename}")
    if not lines:
        raise InvalidInput(_("请上传需补正的材料（每项材料选择一个文件）。"))
    return lines


@bp.post("/my/cases/<number>/steps/<int:task_id>")
@login_required
def step_submit(number: str, task_id: int) -> Any:
    """Submit my step (补正 files + note, or the signed letter); the case continues at the window."""
    case = my_case(number)
    task = my_step(case, task_id)
    if task.state != "open" or case.status != "open":
        flash(_("此环节已办理。"), "success")
        return redirect(url_for("portal.my_case_page", number=number))
    form, views = task_form(task), _views(task)
    posted = MultiDict(request.form)
    data = submitted_data(form, views, posted)
    try:
        if task.form == SUPPLEMENT_FORM:
            data["materials"] = _supplied(case)
        errors = field_errors(form, task, views, data)
        if errors:
            raise InvalidInput(_("表单填写有误，请按提示修改后重新提交。"), errors)
        complete_task(db.session(), task.id, data, actor(), now())
    except InvalidInput as invalid:
        db.session.rollback()
        fill_from_request(views, posted)
        details = invalid.details if isinstance(invalid.details, dict) else {}
        problems = [invalid.message, *attach_errors(views, details)]
        if any(f.filename for f in request.files.values()):
            problems.append(_("出于安全考虑，本次选择的文件未保存，请重新选择。"))
        return _render(my_case(number), my_step(my_case(number), task_id), views, problems, 400)
    db.session.commit()
    flash(_("已提交：%(step)s。", step=task.name), "success")
    return redirect(url_for("portal.my_case_page", number=number))
