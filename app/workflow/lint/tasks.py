"""User-task forms and lanes.

Form rule: a user task names its JSON Schema form with `spiffworkflow:formJsonSchemaFilename`.
In a govflow diagram (one that uses spiffworkflow extensions and declares no Camunda/Flowable/
Activiti/Zeebe namespace) a user task without a form, or with a form that is missing or not a valid
JSON Schema 2020-12, is an error. In an imported third-party diagram a missing form is a warning:
govflow completes such tasks with an empty form. A form that is named but missing or broken is always
an error. An optional `formUiSchemaFilename` must likewise exist and be a JSON object.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from app.workflow.lint.model import HUMAN_TASKS, NS, Doc, Element, local, spiff_ext, text_of
from app.workflow.messages import LintMessage

ROLES = (
    "clerk",
    "approver",
    "dept_head",
    "leader",
    "office",
    "supervisor",
    "inspector",
    "applicant",
    "operator",
    "arbiter",
)
ROLE_HINT = "已知角色 (known roles): " + ", ".join(ROLES) + "；可加 @部门 (optionally @dept or @{dept_field})"


def find_form(forms: Mapping[str, bytes], name: str) -> bytes | None:
    """The form bytes by exact name or by base name (forms/x.schema.json == x.schema.json)."""
    if name in forms:
        return forms[name]
    base = name.rsplit("/", 1)[-1]
    for key, data in forms.items():
        if key.rsplit("/", 1)[-1] == base:
            return data
    return None


def _load_json(doc: Doc, task: Element, name: str, data: bytes) -> Any:
    """Parse a form file; report a located error (in the form file) and return None when it is not JSON."""
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        doc.add(
            task, "error", f"表单 {name} 不是 UTF-8 文本 (form file is not UTF-8)", "以 UTF-8 保存表单文件"
        )
    except json.JSONDecodeError as exc:
        text = f"表单 JSON 格式错误 (invalid JSON: {exc.msg}, column {exc.colno})"
        hint = "修正该行的 JSON 语法 (fix the JSON syntax on this line)"
        doc.messages.append(
            LintMessage(name, exc.lineno, task.get("id"), task.get("name"), "error", text, hint)
        )
    return None


def _check_form(doc: Doc, task: Element, forms: Mapping[str, bytes]) -> None:
    """The task's JSON Schema form (and optional uiSchema) exists and is valid."""
    name = text_of(spiff_ext(task, "formJsonSchemaFilename"))
    if not name:
        if doc.govflow:
            doc.add(
                task, "error", "用户任务没有表单 (user task without a form)", "设置 formJsonSchemaFilename"
            )
        else:
            doc.add(
                task,
                "warning",
                "用户任务没有表单，将使用空表单 (user task without a form: completed with an empty form)",
                "为该任务设计一个 JSON Schema 表单 (add a formJsonSchemaFilename)",
            )
        return
    schema = _load_named(doc, task, forms, name)
    if schema is not None:
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            where = "/".join(str(p) for p in exc.path) or "(root)"
            doc.add(
                task,
                "error",
                f"表单 {name} 不是有效的 JSON Schema (invalid JSON Schema at {where}: {exc.message})",
            )
    ui_name = text_of(spiff_ext(task, "formUiSchemaFilename"))
    if ui_name:
        ui = _load_named(doc, task, forms, ui_name)
        if ui is not None and not isinstance(ui, dict):
            doc.add(task, "error", f"界面定义 {ui_name} 必须是 JSON 对象 (uiSchema must be a JSON object)")


def _load_named(doc: Doc, task: Element, forms: Mapping[str, bytes], name: str) -> Any:
    """Find and parse a referenced form file; None after reporting when missing or broken."""
    data = find_form(forms, name)
    if data is None:
        doc.add(
            task,
            "error",
            f"找不到表单文件 {name} (form file not found)",
            f"把 forms/{name.rsplit('/', 1)[-1]} 一起发布 (deploy the form file with the process)",
        )
        return None
    return _load_json(doc, task, name, data)


def check_forms(doc: Doc, forms: Mapping[str, bytes]) -> None:
    """Every user task in executable processes has a valid form (see module docstring)."""
    for node in doc.flow_nodes():
        if local(node) == "userTask" and node.get("id") not in doc.refused:
            _check_form(doc, node, forms)


def check_lanes(doc: Doc, known_lanes: Callable[[str], bool] | None) -> None:
    """Lane names are known roles; human tasks sit in a lane when the process has lanes."""
    for proc in doc.executable():
        lanes = list(proc.iter(f"{{{NS['bpmn']}}}lane"))
        if not lanes:
            continue
        placed = {text_of(ref) for lane in lanes for ref in lane.iterfind("bpmn:flowNodeRef", NS)}
        if known_lanes is not None:
            for lane in lanes:
                _check_lane_name(doc, lane, known_lanes)
        for node in proc.iter():
            if isinstance(node.tag, str) and local(node) in HUMAN_TASKS and node.get("id") not in placed:
                if _inside_placed(node, placed):
                    continue
                doc.add(node, "warning", "任务不在任何泳道中 (task is not in any lane)", "把任务拖进一个泳道")


def _inside_placed(node: Element, placed: set[str]) -> bool:
    """Whether an enclosing subprocess sits in a lane (its tasks inherit the lane)."""
    parent = node.getparent()
    while parent is not None and local(parent) != "process":
        if parent.get("id") in placed:
            return True
        parent = parent.getparent()
    return False


def _check_lane_name(doc: Doc, lane: Element, known_lanes: Callable[[str], bool]) -> None:
    """A lane names a role govflow knows."""
    name = (lane.get("name") or "").strip()
    if not name:
        doc.add(lane, "error", "泳道没有名称 (lane without a name)", ROLE_HINT)
    elif not known_lanes(name):
        doc.add(lane, "error", f"泳道名称不是已知角色 (unknown lane role '{name}')", ROLE_HINT)
