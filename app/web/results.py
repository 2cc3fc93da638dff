"""Results for applicants and the public: notices, licences, verification, evaluations, complaints."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from app.extensions import db
from app.models import Case, Department
from app.services import complaints as complaint_service
from app.services import evaluations as ev
from app.services.case_access import list_cases
from app.services.case_views import may_view
from app.services.cases import get_case
from app.services.errors import InvalidInput, PermissionDenied
from app.services.licences import (
    STATUS_LABELS,
    effective_status,
    holder_licences,
    issuing_department,
    licence_by_code,
    licence_for_holder,
    licence_sheet,
    mask_name,
)
from app.services.notices import KINDS, available_notices, build_notice, notice_case
from app.services.pdf import render_licence, render_notice
from app.services.runtime import working_calendar
from app.web.case_context import actor
from app.web.clock import now

bp = Blueprint("results", __name__)
# Labels defined in services (no Flask there) and translated in templates: marked here for extraction.
SERVICE_LABELS = (
    _l("非常满意"), _l("满意"), _l("基本满意"), _l("不满意"), _l("非常不满意"),
    _l("整体满意度"), _l("办事效率"), _l("办事指南精确度"), _l("办事便捷度"), _l("平台操作性"),
    _l("整改中"), _l("待回访"), _l("已回访"),
    _l("受理通知书"), _l("不予受理通知书"), _l("补正材料通知书"), _l("容缺受理承诺书"), _l("告知承诺书"),
)  # fmt: skip


def _pdf(body: bytes, filename: str) -> Response:
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"inline; filename={filename}"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _compress() -> bool:
    return bool(current_app.config.get("GOVFLOW_PDF_COMPRESS", True))


@bp.get("/licences")
@login_required
def licences() -> Any:
    """My electronic licences."""
    rows = holder_licences(db.session(), actor())
    return render_template("results/licences.html", licences=rows, status_of=effective_status, now=now())


@bp.get("/licences/<int:licence_id>.pdf")
@login_required
def licence_pdf(licence_id: int) -> Any:
    """The holder's licence as a PDF with a QR code to its verification page (404 for anyone else)."""
    session = db.session()
    licence = licence_for_holder(session, licence_id, actor())
    url = url_for("results.verify", code=licence.verification_code, _external=True)
    body = render_licence(licence_sheet(session, licence, url, now()), compress=_compress())
    return _pdf(body, f"{licence.number}.pdf")


@bp.get("/verify/<code>")
def verify(code: str) -> Any:
    """Public verification of a licence: status, type, number, dates, issuer, a masked holder name."""
    session = db.session()
    licence = licence_by_code(session, code)
    status = effective_status(licence, now())
    return render_template(
        "results/verify.html",
        licence=licence,
        status=status,
        status_label=_(STATUS_LABELS[status]),
        holder=mask_name(licence.holder_name),
        issuer=issuing_department(session, licence),
        calendar=working_calendar(),
    )


@bp.get("/cases/<number>/notices/<kind>")
@login_required
def notice_page(number: str, kind: str) -> Any:
    """A decision notice of the case (its applicant and staff who may see the case)."""
    session = db.session()
    case = notice_case(session, number, actor())
    notice = build_notice(session, case, kind)
    others = [k for k in available_notices(session, case) if k != kind]
    return render_template("results/notice.html", case=case, notice=notice, others=others, titles=KINDS)


@bp.get("/cases/<number>/notices/<kind>.pdf")
@login_required
def notice_pdf(number: str, kind: str) -> Any:
    """The notice as a PDF."""
    session = db.session()
    notice = build_notice(session, notice_case(session, number, actor()), kind)
    return _pdf(render_notice(notice, compress=_compress()), f"{notice.number}.pdf")


def _evaluation_context(case: Case) -> dict[str, Any]:
    session = db.session()
    evaluation = ev.evaluation_of(session, case)
    rectification = session.get(Case, evaluation.rectification_case_id) if evaluation else None
    user = actor()
    dept = ev.responsible_department(session, case)
    return {
        "case": case,
        "evaluation": evaluation,
        "rectification": rectification,
        "follow_up": ev.follow_up(session, rectification) if rectification else None,
        "stages": ev.FOLLOW_UP_STAGES,
        "indicators": ev.INDICATORS,
        "levels": ev.LEVELS,
        "is_applicant": case.originator_id == user.id,
        "can_rate": case.originator_id == user.id
        and case.status in ev.RATEABLE
        and (evaluation is None or ev.may_rerate(session, evaluation)),
        "can_appeal": bool(evaluation and dept and user.has_role("dept_head", dept))
        and evaluation is not None
        and evaluation.overall <= ev.BAD_RATING
        and evaluation.appeal_status is None,
        "can_decide": bool(evaluation and evaluation.appeal_status == "pending")
        and "supervisor" in user.role_codes(),
    }


def _evaluable_case(number: str) -> Case:
    case = get_case(db.session(), number)
    if case.originator_id != actor().id and not may_view(db.session(), actor(), case):
        raise PermissionDenied(_("您无权查看此办件的评价"))
    return case


@bp.get("/cases/<number>/evaluation")
@login_required
def evaluation_page(number: str) -> Any:
    """好差评: the applicant's rating form, or the rating with its rectification and appeal."""
    return render_template(
        "results/evaluation.html", errors={}, form={}, **_evaluation_context(_evaluable_case(number))
    )


@bp.post("/cases/<number>/evaluation")
@login_required
def evaluation_submit(number: str) -> Any:
    """Record the rating (403 not the applicant or not closed; 409 already rated)."""
    case = get_case(db.session(), number)
    earlier = ev.evaluation_of(db.session(), case)
    rectified_before = earlier.rectification_case_id if earlier else None
    form = request.form
    scores = {key: form.get(key, "") for key, _label in ev.INDICATORS if key != "overall"}
    try:
        evaluation = ev.evaluate_case(
            db.session(),
            case,
            actor(),
            form.get("overall", ""),
            scores,
            form.get("comment", "")[:2000],
            now(),
        )
    except InvalidInput as invalid:
        db.session.rollback()
        errors = invalid.details if isinstance(invalid.details, dict) else {}
        context = _evaluation_context(case)
        return render_template("results/evaluation.html", errors=errors, form=form, **context), 400
    db.session.commit()
    if evaluation.rectification_case_id and evaluation.rectification_case_id != rectified_before:
        flash(_("感谢您的评价。我们已启动整改，责任部门将在 5 个工作日内整改并回访您。"), "success")
    else:
        flash(_("感谢您的评价。"), "success")
    return redirect(url_for("results.evaluation_page", number=number))


@bp.post("/cases/<number>/evaluation/appeal")
@login_required
def evaluation_appeal(number: str) -> Any:
    """申诉复核: the responsible department head appeals a malicious rating."""
    case = get_case(db.session(), number)
    ev.appeal_evaluation(db.session(), case, actor(), request.form.get("reason", "")[:1000], now())
    db.session.commit()
    flash(_("申诉已提交监察室复核。"), "success")
    return redirect(url_for("results.evaluation_page", number=number))


@bp.post("/cases/<number>/evaluation/appeal-decision")
@login_required
def evaluation_appeal_decision(number: str) -> Any:
    """The supervision office upholds or rejects the appeal."""
    case = get_case(db.session(), number)
    upheld = request.form.get("outcome") == "upheld"
    ev.decide_appeal(db.session(), case, actor(), upheld, request.form.get("note", "")[:1000], now())
    db.session.commit()
    flash(_("复核结果已记录。"), "success")
    return redirect(url_for("results.evaluation_page", number=number))


def _complaint_choices() -> dict[str, Any]:
    session = db.session()
    cases = [c for c in list_cases(session, actor(), 1, 100).items if c.originator_id == actor().id]
    departments = list(session.query(Department).order_by(Department.name))
    return {"cases": cases, "departments": departments}


@bp.route("/complaints/new", methods=["GET", "POST"])
@login_required
def complaint_new() -> Any:
    """File a complaint about one of my cases or a department."""
    if request.method == "GET":
        form = {"case_number": request.args.get("case", "")}
        return render_template("results/complaint_new.html", errors={}, form=form, **_complaint_choices())
    form = request.form
    try:
        complaint_service.file_complaint(
            db.session(),
            actor(),
            form.get("content", "")[:4000],
            form.get("case_number") or None,
            form.get("department") or None,
            now(),
        )
    except InvalidInput as invalid:
        db.session.rollback()
        errors = invalid.details if isinstance(invalid.details, dict) else {}
        page = render_template("results/complaint_new.html", errors=errors, form=form, **_complaint_choices())
        return page, 400
    db.session.commit()
    flash(_("投诉已提交，监察室将尽快处理。"), "success")
    return redirect(url_for("results.complaint_new"))


@bp.get("/complaints")
@login_required
def complaint_list() -> Any:
    """The supervision office's complaint list."""
    rows = complaint_service.list_complaints(db.session(), actor(), request.args.get("status") or None)
    return render_template("results/complaints.html", complaints=rows)


@bp.post("/complaints/<int:complaint_id>/handled")
@login_required
def complaint_handled(complaint_id: int) -> Any:
    """Mark a complaint handled."""
    note = request.form.get("note", "")[:500]
    complaint_service.handle_complaint(db.session(), complaint_id, actor(), note, now())
    db.session.commit()
    flash(_("投诉已标记为已处理。"), "success")
    return redirect(url_for("results.complaint_list"))
