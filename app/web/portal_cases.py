"""Applicant portal, part two: receipt, my cases, 补正 uploads, withdrawal, material download, progress."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.extensions import db, limiter
from app.models import Case
from app.services.case_access import withdraw_application
from app.services.cases import get_case
from app.services.errors import Conflict, InvalidInput, NotFound
from app.services.evaluations import RATEABLE, evaluation_of
from app.services.licences import case_licences, effective_status
from app.services.materials import add_case_material, material_path, materials_of, owned_material
from app.services.notices import KINDS as NOTICE_KINDS
from app.services.notices import available_notices
from app.services.progress import application_detail, my_applications, public_progress
from app.web.case_context import actor
from app.web.clock import now
from app.web.portal import bp, upload_limits

PER_PAGE = 20
PROGRESS_LIMIT = "10 per minute"


def my_case(number: str) -> Case:
    """One of the signed-in applicant's own cases; anyone else's is 404 (no existence leak)."""
    try:
        case = get_case(db.session(), number)
    except NotFound:
        case = None
    if case is None or case.originator_id != actor().id or case.kind != "application":
        raise NotFound(_("办件不存在"))
    return case


@bp.get("/my/cases/<number>/receipt")
@login_required
def receipt(number: str) -> Any:
    """申请回执: number, item, materials received, promised limit, contact."""
    case = my_case(number)
    return render_template(
        "portal/receipt.html", case=case, item=case.service_item,
        materials=materials_of(db.session(), case_id=case.id),
    )  # fmt: skip


@bp.get("/my/cases")
@login_required
def my_cases() -> Any:
    """My applications: status and current step in plain words, my tasks, withdrawal."""
    page = my_applications(db.session(), actor(), request.args.get("page", 1, type=int) or 1, PER_PAGE)
    return render_template("portal/my_cases.html", page=page)


@bp.get("/my/cases/<number>")
@login_required
def my_case_page(number: str) -> Any:
    """One application: stage, working days left, timeline, messages, materials, 补正 upload."""
    case = my_case(number)
    session = db.session()
    detail = application_detail(session, case, actor(), now())
    return render_template(
        "portal/my_case.html", case=case, detail=detail, item=case.service_item,
        materials=materials_of(session, case_id=case.id), notices=list(available_notices(session, case)),
        titles=NOTICE_KINDS, licences=case_licences(session, case), status_of=effective_status, now=now(),
        evaluation=evaluation_of(session, case), rateable=case.status in RATEABLE,
    )  # fmt: skip


@bp.post("/my/cases/<number>/withdraw")
@login_required
def withdraw(number: str) -> Any:
    """撤回申请 while no one has started on it."""
    case = my_case(number)
    try:
        withdraw_application(db.session(), case, actor(), now())
    except Conflict as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("portal.my_case_page", number=number))
    db.session.commit()
    flash(_("申请已撤回。"), "success")
    return redirect(url_for("portal.my_cases"))


@bp.post("/my/cases/<number>/materials")
@login_required
def upload_material(number: str) -> Any:
    """补正 / 容缺补交: add a file to my open case."""
    case = my_case(number)
    file = request.files.get("file")
    if file is None or not file.filename:
        flash(_("请选择要上传的文件。"), "error")
        return redirect(url_for("portal.my_case_page", number=number))
    code = request.form.get("material_code", "")
    try:
        add_case_material(
            db.session(), case, actor(), code, file.filename, file.stream, upload_limits(), now()
        )
    except InvalidInput as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("portal.my_case_page", number=number))
    db.session.commit()
    flash(_("材料已提交。"), "success")
    return redirect(url_for("portal.my_case_page", number=number))


@bp.get("/my/materials/<int:material_id>")
@login_required
def download_material(material_id: int) -> Any:
    """My uploaded file, always as a download with its sniffed type (never rendered inline)."""
    material = owned_material(db.session(), material_id, actor())
    path = material_path(material, upload_limits().directory)
    if not path.is_file():
        raise NotFound(_("文件不存在"))
    response = send_file(
        path, mimetype=material.content_type, as_attachment=True, download_name=material.filename
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/progress", methods=["GET", "POST"])
@limiter.limit(PROGRESS_LIMIT, methods=["POST"])
def progress() -> Any:
    """Public progress query by case number + the last 4 digits of the applicant's phone."""
    if request.method == "GET":
        return render_template("portal/progress.html", result=None, asked=False, number="")
    number = request.form.get("number", "").strip()[:32]
    result = public_progress(db.session(), number, request.form.get("phone_last4", ""))
    return render_template("portal/progress.html", result=result, asked=True, number=number)


from app.web import portal_steps as _portal_steps  # noqa: E402,F401  (routes register on import)
