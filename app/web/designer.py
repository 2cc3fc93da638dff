"""Designer pages: deployed processes and versions, validation and deployment of uploads, migration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, MultipleFileField
from werkzeug.datastructures import FileStorage

from app.extensions import db
from app.services.errors import DomainError
from app.services.migration import migrate_cases
from app.services.processes import (
    ProcessSource,
    compile_source,
    deploy_process,
    get_version,
    list_processes,
    read_process_source,
)
from app.web.access import restrict_to
from app.web.clock import now

bp = Blueprint("designer", __name__, url_prefix="/designer")
MAX_BPMN_BYTES = 2 * 1024 * 1024


class UploadForm(FlaskForm):
    """A BPMN file and, optionally, the JSON Schema forms it references (others come from forms/)."""

    bpmn = FileField(_l("BPMN 文件"), validators=[FileRequired(_l("请选择 BPMN 文件"))])
    forms = MultipleFileField(_l("表单文件（可选）"))


class MigrateForm(FlaskForm):
    """Target version for the open cases."""


restrict_to(bp, "designer", "admin")


@bp.get("/processes")
def processes() -> Any:
    """Every deployed process with its versions and open cases per version."""
    return render_template(
        "designer/processes.html", processes=list_processes(db.session()), form=UploadForm()
    )


@bp.get("/processes/<process_id>/v<int:number>")
def version(process_id: str, number: int) -> Any:
    """One version: its human steps, linter notes and the diagram."""
    found = get_version(db.session(), process_id, number)
    return render_template("designer/version.html", version=found, migrate_form=MigrateForm())


@bp.get("/processes/<process_id>/v<int:number>/diagram.bpmn")
def diagram(process_id: str, number: int) -> Any:
    """The deployed BPMN XML of a version (for the viewer and for download)."""
    found = get_version(db.session(), process_id, number)
    text = next((t for name, t in found.source_files.items() if name.startswith("processes/")), "")
    return Response(text, mimetype="application/xml", headers={"X-Content-Type-Options": "nosniff"})


def _uploaded_source(form: UploadForm) -> ProcessSource | None:
    upload: FileStorage = form.bpmn.data
    data = upload.read(MAX_BPMN_BYTES + 1)
    if len(data) > MAX_BPMN_BYTES:
        form.bpmn.errors.append(_("文件过大（上限 2 MB）"))
        return None
    name = Path(upload.filename or "process.bpmn").name
    bundled = read_process_source([], Path(current_app.config["GOVFLOW_FORM_DIR"]))
    forms = dict(bundled.forms)
    for extra in form.forms.data or []:
        if isinstance(extra, FileStorage) and extra.filename:
            forms[Path(extra.filename).name] = extra.read(MAX_BPMN_BYTES)
    return ProcessSource(files={name: data}, forms=_referenced(name, data, forms))


def _referenced(name: str, data: bytes, uploaded: dict[str, bytes]) -> dict[str, bytes]:
    from app.workflow.references import referenced_forms

    form_dir = Path(current_app.config["GOVFLOW_FORM_DIR"])
    forms: dict[str, bytes] = {}
    for form_name in referenced_forms({name: data}):
        if form_name in uploaded:
            forms[form_name] = uploaded[form_name]
        elif (form_dir / form_name).is_file() and Path(form_name).name == form_name:
            forms[form_name] = (form_dir / form_name).read_bytes()
    return forms


@bp.post("/validate")
def validate() -> Any:
    """Lint an uploaded diagram and show every located message; deploy it when asked and valid."""
    form = UploadForm()
    source = _uploaded_source(form) if form.validate_on_submit() else None
    if source is None:
        return render_template(
            "designer/processes.html", processes=list_processes(db.session()), form=form
        ), 400
    try:
        if request.form.get("action") == "deploy":
            deployment = deploy_process(db.session(), source, current_user, now())
            db.session.commit()
            flash(
                _("已发布 %(id)s 第 %(v)s 版", id=deployment.version.process_id, v=deployment.version.version)
            )
            return redirect(
                url_for(
                    ".version", process_id=deployment.version.process_id, number=deployment.version.version
                )
            )
        compiled = compile_source(source)
    except DomainError as error:
        messages = error.details if isinstance(error.details, list) else [error.message]
        return render_template("designer/validation.html", ok=False, messages=messages, form=form), 422
    notes = [note.format() for note in compiled.notes]
    return render_template("designer/validation.html", ok=True, messages=notes, compiled=compiled, form=form)


@bp.post("/processes/<process_id>/v<int:number>/migrate")
def migrate(process_id: str, number: int) -> Any:
    """Dry-run (default) or migrate the open cases of other versions to this one."""
    if not MigrateForm().validate_on_submit():
        abort(400)
    dry_run = request.form.get("action") != "migrate"
    lines = migrate_cases(db.session(), process_id, number, current_user, now(), dry_run=dry_run)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    found = get_version(db.session(), process_id, number)
    return render_template(
        "designer/version.html", version=found, migrate_form=MigrateForm(), report=lines, dry_run=dry_run
    )
