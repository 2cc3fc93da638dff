"""Portal endpoints of the JSON API: apply for an item, add a material to my case, list my applications."""

from __future__ import annotations

import json
from typing import Any

from flask import jsonify, request

from app.extensions import db
from app.models import Case, Material
from app.services.applications import ApplicationInput, Upload, apply, new_key, submitted_case
from app.services.case_access import case_for_viewer
from app.services.catalogue import get_item
from app.services.errors import InvalidInput, NotFound
from app.services.materials import add_case_material
from app.services.progress import Summary, my_applications
from app.web.api import bp
from app.web.api.auth import api_user
from app.web.api.tasks import _int_arg
from app.web.clock import now
from app.web.portal import upload_limits


def material_json(material: Material) -> dict[str, Any]:
    """A material as JSON (never its storage name)."""
    return {
        "id": material.id,
        "material_code": material.material_code,
        "filename": material.filename,
        "content_type": material.content_type,
        "size": material.size,
        "sha256": material.sha256,
        "source": material.source,
        "trust_level": material.trust_level,
        "uploaded_at": material.uploaded_at.isoformat(),
    }


def _application_json(case: Case) -> dict[str, Any]:
    item = case.service_item
    return {
        "number": case.number,
        "title": case.title,
        "status": case.status,
        "item_code": item.code if item else None,
        "created_at": case.created_at.isoformat(),
        "promised_limit_working_days": item.promised_limit_days if item else None,
        "promised_due_at": case.promised_due_at.isoformat() if case.promised_due_at else None,
    }


def _object(raw: Any, name: str) -> dict[str, Any]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as error:
            raise InvalidInput(f"{name} 不是有效的 JSON", {name: "invalid JSON"}) from error
    if not isinstance(raw, dict):
        raise InvalidInput(f"{name} 必须是对象", {name: "object expected"})
    return raw


def _posted_application() -> ApplicationInput:
    """JSON body, or multipart with `data` (JSON), `tolerated`, `licence-<code>` and files `file-<code>`."""
    key = request.headers.get("Idempotency-Key", "")
    if request.mimetype == "multipart/form-data":
        form = request.form
        licences = {k.removeprefix("licence-"): v for k, v in form.items() if k.startswith("licence-")}
        body: dict[str, Any] = {
            "data": form.get("data", "{}"), "tolerated": form.getlist("tolerated"), "licences": licences,
            "idempotency_key": form.get("idempotency_key"),
        }  # fmt: skip
    else:
        body = _object(request.get_json(silent=True), "body")
    tolerated = body.get("tolerated") or []
    if not isinstance(tolerated, list) or not all(isinstance(t, str) for t in tolerated):
        raise InvalidInput("tolerated 必须是材料编码列表", {"tolerated": "list of codes"})
    licences = _object(body.get("licences") or {}, "licences")
    if not all(str(v).isdigit() for v in licences.values()):
        raise InvalidInput("licences 的值必须是证照 id", {"licences": "integer ids"})
    uploads = [
        Upload(name.removeprefix("file-"), file.filename or "", file.stream)
        for name, file in request.files.items(multi=True)
        if name.startswith("file-") and file.filename
    ]
    return ApplicationInput(
        key=str(body.get("idempotency_key") or key or new_key()),
        fields=_object(body.get("data") or {}, "data"),
        tolerated=tolerated[:20],
        licences={str(code): int(value) for code, value in licences.items()},
        uploads=uploads,
    )


@bp.post("/items/<code>/applications")
def application_submit(code: str) -> Any:
    """Apply for a catalogue item (applicants); the same idempotency key returns the same case (200)."""
    item = get_item(db.session(), code)
    posted = _posted_application()
    existing = submitted_case(db.session(), posted.key, api_user())
    if existing is not None:
        return jsonify(_application_json(existing)), 200
    outcome = apply(db.session(), item, api_user(), posted, upload_limits(), now(), submit=True)
    db.session.commit()
    if outcome.case is None:  # pragma: no cover - submit always opens a case or raises
        raise NotFound("申请未能提交")
    return jsonify(_application_json(outcome.case)), 201


@bp.post("/cases/<number>/materials")
def case_material_upload(number: str) -> Any:
    """Add a file (multipart `material_code`, `file`) to my open application (others' cases: 404)."""
    case = case_for_viewer(db.session(), number, api_user())
    file = request.files.get("file")
    if file is None or not file.filename:
        raise InvalidInput("需要上传文件 (multipart field `file`)", {"file": "required"})
    material = add_case_material(
        db.session(), case, api_user(), request.form.get("material_code", ""), file.filename, file.stream,
        upload_limits(), now(),
    )  # fmt: skip
    db.session.commit()
    return jsonify(material_json(material)), 201


def _summary_json(summary: Summary) -> dict[str, Any]:
    body = _application_json(summary.case)
    body.update(
        stage=summary.stage,
        my_tasks=[{"id": t.id, "name": t.name} for t in summary.my_tasks],
        may_withdraw=summary.may_withdraw,
    )
    return body


@bp.get("/my/cases")
def my_cases_list() -> Any:
    """My applications with their stage in plain words and the tasks waiting for me."""
    page = my_applications(db.session(), api_user(), _int_arg("page", 1), _int_arg("per_page", 20))
    items = [_summary_json(s) for s in page.items]
    return jsonify({"items": items, "page": page.page, "per_page": page.per_page, "total": page.total})
