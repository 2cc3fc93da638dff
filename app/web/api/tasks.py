"""Task endpoints of the JSON API: lists, detail and every task operation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from flask import jsonify, request

from app.extensions import db
from app.models import Case, HumanTask, Opinion
from app.services import bulk, copies, delegation, operations, signers
from app.services.case_access import task_for_viewer
from app.services.case_views import case_opinions, case_tasks
from app.services.cases import NewTask, complete_task
from app.services.errors import InvalidInput
from app.services.proxies import behalf_label
from app.services.task_lists import principal_names, tasks_with_counts
from app.services.task_rows import TaskFilters, TaskRow
from app.web.api import bp
from app.web.api.auth import api_user, json_body
from app.web.case_context import opinion_labels
from app.web.clock import now


def _int_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as error:
        raise InvalidInput("参数必须是整数", {name: "integer expected"}) from error


def _date_arg(name: str) -> date | None:
    raw = request.args.get(name)
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError as error:
        raise InvalidInput("日期格式应为 YYYY-MM-DD", {name: "YYYY-MM-DD"}) from error


def _filters() -> TaskFilters:
    args = request.args
    return TaskFilters(
        process_id=args.get("process_id") or None,
        item_code=args.get("item_code") or None,
        department=args.get("department") or None,
        due_state=args.get("due_state") or None,  # type: ignore[arg-type]
        date_from=_date_arg("date_from"),
        date_to=_date_arg("date_to"),
        q=args.get("q") or None,
    )


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def row_json(row: TaskRow, principals: dict[int, str]) -> dict[str, Any]:
    """A list row as JSON."""
    body = {k: v for k, v in row.__dict__.items() if k not in {"received", "due_at", "completed_at"}}
    body |= {
        "received": _iso(row.received),
        "due_at": _iso(row.due_at),
        "completed_at": _iso(row.completed_at),
    }
    body["on_behalf_of"] = principals.get(row.on_behalf_of_id or 0)
    return body


def task_json(task: HumanTask) -> dict[str, Any]:
    """One task as JSON."""
    return {
        "id": task.id,
        "case": task.case.number,
        "bpmn_id": task.bpmn_id,
        "name": task.name,
        "state": task.state,
        "candidate_role": task.candidate_role,
        "candidate_department": task.candidate_department,
        "assignee_id": task.assignee_id,
        "owner_id": task.owner_id,
        "form": task.form,
        "created_at": _iso(task.created_at),
        "due_at": _iso(task.due_at),
        "completed_at": _iso(task.completed_at),
        "completed_by_id": task.completed_by_id,
        "decision": task.decision,
        "return_targets": operations.return_targets(task),
        "bulk_approve": task.properties.get("bulkApprove") == "true",
    }


def new_tasks_json(tasks: Sequence[NewTask]) -> list[dict[str, Any]]:
    """The open tasks a start or a completion created (what comes next), oldest first."""
    fields = ("id", "bpmn_id", "name", "candidate_role", "candidate_department", "assignee_id")
    return [{name: getattr(task, name) for name in fields} for task in tasks]


def opinion_json(opinion: Opinion, decision_label: str | None = None) -> dict[str, Any]:
    """An opinion as JSON (text is plain text; clients must escape it)."""
    principal = opinion.on_behalf_of.display_name if opinion.on_behalf_of else None
    return {
        "step": opinion.step_name,
        "author": behalf_label(opinion.author.display_name, principal),
        "decision": opinion.decision,
        "decision_label": decision_label,
        "text": opinion.text,
        "created_at": _iso(opinion.created_at),
    }


def opinions_json(case: Case) -> list[dict[str, Any]]:
    """The case's opinion log, each decision labelled as the case page labels it (by its step's form)."""
    session = db.session()
    opinions = case_opinions(session, case)
    labels = opinion_labels(case, opinions, case_tasks(session, case))
    return [opinion_json(o, labels.get(o.id)) for o in opinions]


@bp.get("/tasks")
def tasks_list() -> Any:
    """To-do lists: view=todo|claimable|done|cc with filters and pagination."""
    view, filters = request.args.get("view", "todo"), _filters()
    page_number, per_page = _int_arg("page", 1), _int_arg("per_page", 20)
    page, counts = tasks_with_counts(db.session(), api_user(), view, filters, page_number, per_page, now())
    principals = principal_names(db.session(), page.items)
    return jsonify(
        {
            "items": [row_json(row, principals) for row in page.items],
            "page": page.page,
            "per_page": page.per_page,
            "total": page.total,
            "pages": page.pages,
            "counts": counts,
        }
    )


@bp.get("/tasks/<int:task_id>")
def task_detail(task_id: int) -> Any:
    """One task with its case and the opinion log (mine, offered to me, or a case I take part in)."""
    task = task_for_viewer(db.session(), task_id, api_user(), now())
    body = task_json(task)
    body["case"] = {"number": task.case.number, "title": task.case.title, "status": task.case.status}
    body["opinions"] = opinions_json(task.case)
    return jsonify(body)


def _done(task: HumanTask, status: int = 200) -> Any:
    db.session.commit()
    return jsonify(task_json(task)), status


def _str(body: dict[str, Any], name: str, required: bool = False) -> str:
    value = body.get(name, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidInput(f"字段 {name} 必须是文本", {name: "required" if required else "string expected"})
    return value


def _user_id(body: dict[str, Any], name: str = "user_id") -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(f"字段 {name} 必须是用户编号", {name: "integer expected"})
    return value


@bp.post("/tasks/<int:task_id>/claim")
def task_claim(task_id: int) -> Any:
    """认领 an offered task."""
    return _done(operations.claim_task(db.session(), task_id, api_user(), now()))


@bp.post("/tasks/<int:task_id>/unclaim")
def task_unclaim(task_id: int) -> Any:
    """Give a claimed task back to its candidates."""
    return _done(operations.unclaim_task(db.session(), task_id, api_user(), now()))


@bp.post("/tasks/<int:task_id>/complete")
def task_complete(task_id: int) -> Any:
    """Complete a task with its form data (`{"data": {...}}`); a delegate's answer returns it to the owner.

    `next_tasks` lists the open tasks this completion created (id, bpmn_id, name, candidates), so the
    caller can route them without listing its to-do views again.
    """
    data = json_body().get("data")
    if not isinstance(data, dict):
        raise InvalidInput("需要 data 对象 (form data)", {"data": "object expected"})
    completion = complete_task(db.session(), task_id, data, api_user(), now())
    body = {
        "task": task_json(completion.task),
        "case_status": completion.case.status,
        "new_tasks": len(completion.new_tasks),
        "next_tasks": new_tasks_json(completion.new_tasks),
    }
    db.session.commit()  # after serializing: committing expires the rows, reading them again costs a query
    return jsonify(body)


@bp.post("/tasks/<int:task_id>/return")
def task_return(task_id: int) -> Any:
    """退回 to an allowed earlier step (`target`, `reason`); 400 lists the allowed steps."""
    body = json_body()
    task = operations.return_task(
        db.session(), task_id, _str(body, "target"), _str(body, "reason"), api_user(), now()
    )
    return _done(task)


@bp.post("/tasks/<int:task_id>/transfer")
def task_transfer(task_id: int) -> Any:
    """转办 to another holder of the step's role (`user_id`, `reason`)."""
    body = json_body()
    task = delegation.transfer_task(
        db.session(), task_id, _user_id(body), _str(body, "reason"), api_user(), now()
    )
    return _done(task)


@bp.post("/tasks/<int:task_id>/delegate")
def task_delegate(task_id: int) -> Any:
    """委派 to a colleague for an opinion (`user_id`, optional `note`)."""
    body = json_body()
    task = delegation.delegate_task(
        db.session(), task_id, _user_id(body), _str(body, "note"), api_user(), now()
    )
    return _done(task)


@bp.post("/tasks/<int:task_id>/withdraw")
def task_withdraw(task_id: int) -> Any:
    """撤回 my completion while the next step is untouched; 409 names who acted."""
    reopened = operations.withdraw_completion(db.session(), task_id, api_user(), now())
    return _done(reopened)


@bp.post("/tasks/<int:task_id>/add-signer")
def task_add_signer(task_id: int) -> Any:
    """加签: `user_id` or `department` must give an opinion before the task completes."""
    body = json_body()
    signer: int | str = _user_id(body) if "user_id" in body else _str(body, "department", required=True)
    row = signers.add_signer(db.session(), task_id, signer, api_user(), now(), _str(body, "note"))
    return _done(row, 201)


@bp.post("/tasks/<int:task_id>/remove-signer")
def task_remove_signer(task_id: int) -> Any:
    """减签: cancel a countersign, or remove one instance of a parallel step (`reason`)."""
    body = json_body()
    return _done(signers.remove_signer(db.session(), task_id, api_user(), now(), _str(body, "reason")))


@bp.post("/tasks/<int:task_id>/copy")
def task_copy(task_id: int) -> Any:
    """抄送 the task's case to `user_ids` and/or `departments` with a `note`."""
    body = json_body()
    user_ids, departments = body.get("user_ids", []), body.get("departments", [])
    if not isinstance(user_ids, list) or not all(isinstance(u, int) for u in user_ids):
        raise InvalidInput("user_ids 必须是用户编号列表", {"user_ids": "list of integers"})
    if not isinstance(departments, list) or not all(isinstance(d, str) for d in departments):
        raise InvalidInput("departments 必须是部门代码列表", {"departments": "list of strings"})
    task = task_for_viewer(db.session(), task_id, api_user(), now())
    made = copies.copy_case(
        db.session(), task.case_id, user_ids, departments, _str(body, "note"), api_user(), now(), task.id
    )
    db.session.commit()
    return jsonify({"copied_to": [c.user_id for c in made]}), 201


@bp.post("/tasks/<int:task_id>/urge")
def task_urge(task_id: int) -> Any:
    """催办: remind the current handlers (`note`)."""
    body = request.get_json(silent=True) or {}
    note = body.get("note", "") if isinstance(body, dict) else ""
    handlers = operations.urge_task(
        db.session(), task_id, note if isinstance(note, str) else "", api_user(), now()
    )
    db.session.commit()
    return jsonify({"notified": len(handlers)})


@bp.post("/copies/<int:copy_id>/read")
def copy_read(copy_id: int) -> Any:
    """Mark a copy (抄送) as read."""
    copy = copies.mark_copy_read(db.session(), copy_id, api_user(), now())
    db.session.commit()
    return jsonify({"id": copy.id, "read_at": _iso(copy.read_at)})


@bp.post("/tasks/bulk-complete")
def tasks_bulk_complete() -> Any:
    """批量审批: `task_ids` with the same `data`; one result per task."""
    body = json_body()
    task_ids, data = body.get("task_ids"), body.get("data", {})
    if not isinstance(task_ids, list) or not all(isinstance(t, int) for t in task_ids):
        raise InvalidInput("task_ids 必须是任务编号列表", {"task_ids": "list of integers"})
    if not isinstance(data, dict):
        raise InvalidInput("data 必须是对象", {"data": "object expected"})
    results = bulk.bulk_complete(db.session(), task_ids, data, api_user(), now())
    db.session.commit()
    return jsonify({"results": [r.__dict__ for r in results]})
