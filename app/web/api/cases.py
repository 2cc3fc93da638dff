"""Case endpoints of the JSON API: list, detail, start, the applicant's withdrawal."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from app.extensions import db
from app.models import Case
from app.services.case_access import case_for_viewer, list_cases, withdraw_application
from app.services.case_entry import check_generic_start
from app.services.case_views import case_tasks
from app.services.cases import start_case_with_tasks
from app.services.errors import InvalidInput
from app.web.api import bp
from app.web.api.auth import api_user, json_body
from app.web.api.tasks import _int_arg, new_tasks_json, opinions_json, task_json
from app.web.clock import now

MAX_TITLE = 300


def case_json(case: Case) -> dict[str, Any]:
    """A case summary as JSON."""
    return {
        "number": case.number,
        "title": case.title,
        "kind": case.kind,
        "status": case.status,
        "process_id": case.process_version.process_id,
        "created_at": case.created_at.isoformat(),
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        "urgency": (case.data or {}).get("urgency"),
    }


@bp.get("/cases")
def cases_list() -> Any:
    """My cases (originated or handled); every case for supervisors and administrators."""
    page = list_cases(db.session(), api_user(), _int_arg("page", 1), _int_arg("per_page", 20))
    items = [case_json(c) for c in page.items]
    return jsonify({"items": items, "page": page.page, "per_page": page.per_page, "total": page.total})


@bp.get("/cases/<number>")
def case_detail(number: str) -> Any:
    """One case with its tasks and opinions (404 for a case the caller may not see)."""
    case = case_for_viewer(db.session(), number, api_user())
    body = case_json(case)
    body["tasks"] = [task_json(t) for t in case_tasks(db.session(), case)]
    body["opinions"] = opinions_json(case)
    return jsonify(body)


@bp.post("/cases")
def case_start() -> Any:
    """Start a process (`process_id`, optional `data`, `title`); `open_tasks` are its first open tasks."""
    body = json_body()
    process_id, data, title = body.get("process_id"), body.get("data", {}), body.get("title")
    if not isinstance(process_id, str) or not process_id.strip():
        raise InvalidInput("需要 process_id", {"process_id": "required"})
    if not isinstance(data, dict):
        raise InvalidInput("data 必须是对象", {"data": "object expected"})
    if title is not None and (not isinstance(title, str) or len(title) > MAX_TITLE):
        raise InvalidInput("标题无效", {"title": f"text up to {MAX_TITLE} characters"})
    check_generic_start(db.session(), process_id.strip())  # items, 公文, 12345, 差评整改: their own entry
    started = start_case_with_tasks(
        db.session(), process_id.strip(), data, api_user(), now(), title=title or None
    )
    body = case_json(started.case)
    body["open_tasks"] = new_tasks_json(started.new_tasks)
    db.session.commit()  # after serializing (no reload of the expired case)
    return jsonify(body), 201


@bp.post("/cases/<number>/withdraw")
def case_withdraw(number: str) -> Any:
    """The applicant withdraws an application nobody has started on."""
    case = case_for_viewer(db.session(), number, api_user())
    withdraw_application(db.session(), case, api_user(), now())
    db.session.commit()
    return jsonify(case_json(case))
