"""Applicant portal (网上办事大厅): catalogue, 办事指南, apply. My cases and progress: portal_cases.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.forms_schema import FormSchema
from app.models import ApplicationDraft, HumanTask, ServiceItem
from app.services.application_forms import start_form
from app.services.applications import (
    ApplicationInput,
    Upload,
    applicable_item,
    apply,
    new_key,
    open_draft,
    require_applicant,
    submitted_case,
)
from app.services.catalogue import get_item, list_items
from app.services.errors import InvalidInput
from app.services.materials import UploadLimits, materials_of, usable_licences
from app.web.case_context import actor
from app.web.clock import now
from app.web.formrender import (
    OPINION_FIELD,
    ROUTE_FIELD,
    FieldView,
    attach_errors,
    fill_from_request,
    form_fields,
    submitted_data,
)

bp = Blueprint("portal", __name__)
MAX_TOLERATED = 20


def upload_limits() -> UploadLimits:
    """The configured upload directory (outside the web root) and size limit."""
    megabytes = int(current_app.config["GOVFLOW_UPLOAD_MAX_MB"])
    return UploadLimits(Path(current_app.config["GOVFLOW_UPLOAD_DIR"]), megabytes * 1024 * 1024)


@bp.get("/services")
def catalogue() -> Any:
    """The catalogue: browse by department and theme, search by name or code (public)."""
    department = request.args.get("department", "").strip()[:40] or None
    theme = request.args.get("theme", "").strip()[:80] or None
    query = request.args.get("q", "").strip()[:100] or None
    session = db.session()
    everything = list_items(session)
    departments = sorted({(i.department.code, i.department.name) for i in everything})
    return render_template(
        "portal/catalogue.html",
        items=list_items(session, department, theme, query),
        departments=departments,
        themes=sorted({i.theme for i in everything if i.theme}),
        department=department,
        theme=theme,
        query=query or "",
    )


@bp.get("/services/<code>")
def item_page(code: str) -> Any:
    """办事指南: basis, conditions, materials, limits, special steps, fee, visits, how to apply, FAQ."""
    item = get_item(db.session(), code)
    if not item.active:
        raise InvalidInput(_("此事项已停止办理"))
    return render_template("portal/item.html", item=item)


def _field_views(form: FormSchema) -> list[FieldView]:
    views = form_fields(form, HumanTask(properties={}))
    return [v for v in views if v.name not in (OPINION_FIELD, ROUTE_FIELD)]


def _posted(item: ServiceItem, form: FormSchema, views: list[FieldView]) -> ApplicationInput:
    data = submitted_data(form, views, request.form)
    fields = {key: value for key, value in data.items() if key not in (OPINION_FIELD, ROUTE_FIELD)}
    licences: dict[str, int] = {}
    uploads: list[Upload] = []
    for material in item.materials:
        code = str(material["code"])
        raw = request.form.get(f"licence-{code}", "")
        if raw.isdigit():
            licences[code] = int(raw)
        file = request.files.get(f"file-{code}")
        if file is not None and file.filename:
            uploads.append(Upload(code, file.filename, file.stream))
    return ApplicationInput(
        key=request.form.get("idempotency_key", ""),
        fields=fields,
        tolerated=request.form.getlist("tolerate")[:MAX_TOLERATED],
        licences=licences,
        uploads=uploads,
    )


def _render_apply(item: ServiceItem, views: list[FieldView], key: str, tolerated: list[str],
                  draft: ApplicationDraft | None, problems: list[str], status: int = 200) -> Any:  # fmt: skip
    session = db.session()
    held = {m.material_code: m for m in materials_of(session, draft_id=draft.id)} if draft else {}
    body = render_template(
        "portal/apply.html",
        item=item,
        fields=views,
        key=key,
        tolerated=tolerated,
        held=held,
        licences=usable_licences(session, actor(), item, now()),
        problems=problems,
        max_mb=current_app.config["GOVFLOW_UPLOAD_MAX_MB"],
    )
    return body, status


@bp.get("/services/<code>/apply")
@login_required
def apply_form(code: str) -> Any:
    """The item's start form with a material list (upload, reuse an e-licence, or 容缺)."""
    item = applicable_item(get_item(db.session(), code))
    require_applicant(actor())
    views = _field_views(start_form(item.mode))
    draft = open_draft(db.session(), request.args.get("draft", ""), actor())
    tolerated: list[str] = []
    if draft is not None:
        saved = draft.data.get("fields") or {}
        fill_from_request(views, MultiDict({k: str(v) for k, v in saved.items() if v is not None}))
        tolerated = list(draft.data.get("tolerated") or [])
    key = draft.idempotency_key if draft else new_key()
    return _render_apply(item, views, key, tolerated, draft, [])


@bp.post("/services/<code>/apply")
@login_required
def apply_submit(code: str) -> Any:
    """Save the draft, or submit: one case per form key, then the electronic receipt."""
    item = applicable_item(get_item(db.session(), code))
    form = start_form(item.mode)
    views = _field_views(form)
    posted = _posted(item, form, views)
    submit = request.form.get("action") == "submit"
    try:
        outcome = apply(db.session(), item, actor(), posted, upload_limits(), now(), submit=submit)
        db.session.commit()
    except InvalidInput as error:
        db.session.rollback()
        fill_from_request(views, request.form)
        details = error.details if isinstance(error.details, dict) else {}
        problems = [error.message, *attach_errors(views, details)]
        if posted.uploads:
            problems.append(_("出于安全考虑，本次选择的文件未保存，请重新选择。"))
        draft = open_draft(db.session(), posted.key, actor())
        return _render_apply(item, views, posted.key, posted.tolerated, draft, problems, 400)
    except IntegrityError:  # a double click raced this request and won: show its result
        db.session.rollback()
        case = submitted_case(db.session(), posted.key, actor())
        if case is None:
            raise
        return redirect(url_for("portal.receipt", number=case.number))
    if outcome.case is not None:
        return redirect(url_for("portal.receipt", number=outcome.case.number))
    flash(_("草稿已保存。"), "success")
    return redirect(url_for("portal.apply_form", code=item.code, draft=posted.key))


from app.web import portal_cases as _portal_cases  # noqa: E402,F401  (routes register on import)
