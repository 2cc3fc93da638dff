"""Official documents (收文/发文): registration, drafting, 传阅 tracking, the 发文字号 register, downloads.

12345 work orders live in app/web/work_order_pages.py on the same blueprint.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from werkzeug.datastructures import FileStorage
from wtforms import DateField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.extensions import db
from app.models import Case, Material
from app.services.case_views import department_names
from app.services.document_intake import (
    Classification,
    IncomingDocument,
    OutgoingDocument,
    draft_outgoing,
    register_incoming,
)
from app.services.document_register import document_register, issuers_and_years
from app.services.document_tracking import DocumentFilters, case_files, file_for_viewer, list_documents
from app.services.errors import InvalidInput
from app.services.runtime import working_calendar
from app.services.uploads import Upload, UploadPolicy, stored_path
from app.web import display
from app.web.case_context import actor
from app.web.clock import now

bp = Blueprint("documents", __name__)
display.register(bp)
DOCUMENT_ROLES = frozenset({"office", "leader", "dept_head", "approver", "admin"})
URGENCY_CHOICES = [SelectChoice(u, _l(u)) for u in ("平件", "加急", "特急")]
SECRECY_CHOICES = [
    SelectChoice("none", _l("非密")),
    SelectChoice("secret", _l("秘密")),
    SelectChoice("confidential", _l("机密")),
]
DOC_TYPE_CHOICES = [
    SelectChoice("notice", _l("通知")),
    SelectChoice("request", _l("请示")),
    SelectChoice("report", _l("报告")),
    SelectChoice("reply", _l("批复")),
    SelectChoice("letter", _l("函")),
    SelectChoice("opinion", _l("意见")),
    SelectChoice("minutes", _l("纪要")),
]
REQUIRED = _l("必填")


class _Classified(FlaskForm):
    urgency = SelectField(_l("紧急程度"), choices=URGENCY_CHOICES, default="平件")
    secrecy_level = SelectField(_l("密级"), choices=SECRECY_CHOICES, default="none")
    secrecy_period = DateField(_l("保密期限"), validators=[Optional()])

    def classification(self) -> Classification:
        """The urgency / 密级 part of the form."""
        return Classification(
            self.urgency.data or "", self.secrecy_level.data or "", self.secrecy_period.data
        )


class IncomingForm(_Classified):
    """收文登记."""

    scan = FileField(_l("扫描件（PDF/JPEG/PNG）"))
    sender = StringField(_l("来文单位"), validators=[DataRequired(REQUIRED), Length(max=200)])
    source_doc_number = StringField(_l("来文字号"), validators=[Length(max=80)])
    title = StringField(_l("文件标题"), validators=[DataRequired(REQUIRED), Length(max=300)])


class OutgoingForm(_Classified):
    """拟稿."""

    title = StringField(_l("标题"), validators=[DataRequired(REQUIRED), Length(max=300)])
    doc_type = SelectField(_l("文种"), choices=DOC_TYPE_CHOICES)
    main_recipients = StringField(_l("主送机关"), validators=[DataRequired(REQUIRED), Length(max=500)])
    cc_recipients = StringField(_l("抄送机关（分发范围）"), validators=[Length(max=500)])
    body_text = TextAreaField(_l("正文"), validators=[DataRequired(REQUIRED), Length(max=20000)])
    cosign_departments = SelectMultipleField(_l("会签部门"), choices=[], validate_choice=True)
    attachments = MultipleFileField(_l("附件（PDF/JPEG/PNG）"))


def upload_policy() -> UploadPolicy:
    """The configured upload directory and size limit."""
    config = current_app.config
    return UploadPolicy(str(config["GOVFLOW_UPLOAD_DIR"]), int(config["GOVFLOW_UPLOAD_MAX_MB"]) * 1024 * 1024)


def as_upload(storage: Any) -> Upload | None:
    """A received file as an Upload (None when the field was left empty)."""
    if not isinstance(storage, FileStorage) or not storage.filename:
        return None
    return Upload(storage.filename, storage.stream.read())


def attach_errors(form: FlaskForm, details: Any) -> None:
    """Put a service's field errors next to the form's fields (unknown keys go to the form)."""
    for key, message in (details if isinstance(details, dict) else {"_form": details}).items():
        field = getattr(form, str(key), None)
        target = field.errors if field is not None and hasattr(field, "errors") else form.form_errors
        if isinstance(target, tuple):
            target = field.errors = list(target)  # type: ignore[union-attr]
        target.append(str(message))


@bp.app_template_global("document_files")
def document_files(case: Case) -> list[Material]:
    """The uploaded files of a document case (the case page already checked who may see it)."""
    return case_files(db.session(), case)


def _require(roles: frozenset[str]) -> None:
    if not current_user.role_codes() & roles:
        abort(403)


@bp.get("/documents")
@login_required
def document_list() -> Any:
    """公文 in progress that I may see: where each one is and who holds it since when."""
    _require(DOCUMENT_ROLES | {"supervisor"})
    filters = DocumentFilters(request.args.get("direction") or None, request.args.get("urgency") or None)
    page = list_documents(db.session(), actor(), filters, request.args.get("page", 1, type=int) or 1)
    return render_template(
        "documents/list.html",
        rows=page.rows,
        page=page,
        filters=filters,
        departments=department_names(db.session()),
    )


@bp.route("/documents/incoming/new", methods=["GET", "POST"])
@login_required
def incoming_new() -> Any:
    """收文登记 by the office: scan, sender, 来文字号, urgency, 密级 → document_incoming."""
    _require(frozenset({"office"}))
    form = IncomingForm()
    if form.validate_on_submit():
        scan = as_upload(form.scan.data)
        if scan is None:
            attach_errors(form, {"scan": _("请上传扫描件")})
        else:
            document = IncomingDocument(
                form.title.data or "",
                form.sender.data or "",
                form.source_doc_number.data or "",
                form.classification(),
                scan,
            )
            try:
                case = register_incoming(db.session(), document, upload_policy(), actor(), now())
            except InvalidInput as invalid:
                db.session.rollback()
                attach_errors(form, invalid.details)
            else:
                db.session.commit()
                flash(_("已登记收文 %(case)s。", case=case.number), "success")
                return redirect(url_for("cases.case_page", number=case.number))
    status = 400 if request.method == "POST" else 200
    return render_template("documents/incoming_new.html", form=form), status


@bp.route("/documents/outgoing/new", methods=["GET", "POST"])
@login_required
def outgoing_new() -> Any:
    """拟稿: body, attachments, urgency, 密级, co-signing departments → document_outgoing."""
    _require(DOCUMENT_ROLES - {"admin"})
    form = OutgoingForm()
    form.cosign_departments.choices = [
        SelectChoice(c, n) for c, n in sorted(department_names(db.session()).items())
    ]
    if form.validate_on_submit():
        uploads = [u for u in (as_upload(f) for f in form.attachments.data or []) if u is not None]
        document = OutgoingDocument(
            form.title.data or "",
            form.doc_type.data or "",
            form.main_recipients.data or "",
            form.cc_recipients.data or "",
            form.body_text.data or "",
            form.classification(),
            list(form.cosign_departments.data or []),
            uploads,
        )
        try:
            case = draft_outgoing(db.session(), document, upload_policy(), actor(), now())
        except InvalidInput as invalid:
            db.session.rollback()
            attach_errors(form, invalid.details)
        else:
            db.session.commit()
            flash(_("已提交发文拟稿 %(case)s。", case=case.number), "success")
            return redirect(url_for("cases.case_page", number=case.number))
    status = 400 if request.method == "POST" else 200
    return render_template("documents/outgoing_new.html", form=form), status


@bp.get("/documents/register")
@login_required
def register() -> Any:
    """发文字号登记簿 per issuer and year, with the gap check."""
    _require(frozenset({"office", "leader", "admin", "supervisor"}))
    year_text = request.args.get("year", "")
    year = int(year_text) if year_text.isdigit() else working_calendar().local_date(now()).year
    issuer = request.args.get("issuer", "").strip()[:60] or None
    book = document_register(db.session(), issuer, year)
    names = department_names(db.session())
    codes = sorted({book.issuer, *(code for code, _year in issuers_and_years(db.session()))})
    issuers = sorted(((code, names.get(code, code)) for code in codes), key=lambda pair: pair[1])
    return render_template("documents/register.html", book=book, issuers=issuers)


@bp.get("/documents/files/<int:material_id>")
@login_required
def download(material_id: int) -> Any:
    """A document's file, only for people who may see the document (密级 enforced), as an attachment."""
    material = file_for_viewer(db.session(), material_id, actor())
    path = stored_path(upload_policy(), material)
    if path is None:
        abort(404)
    response = send_file(
        path, mimetype=material.content_type, as_attachment=True, download_name=material.filename
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


from app.web import work_order_pages as _work_order_pages  # noqa: E402,F401  (12345 work orders)
