"""Data stores, data objects and call activities: what SpiffWorkflow 3.2 only finds at parse or run time.

- A `bpmn:dataStore` needs an engine implementation registered by name; govflow registers none, so the
  parser refuses the file. Reported at the data store.
- A data output association copies the task-data key named after the data object's id into the data
  object; when the key is missing the case stops with an error. A user or manual task can only supply it
  from its form, so a human task whose form (or missing form) has no such field is an error.
- A data input association reads a data object that must have been written before; a data object that
  no task ever writes is an error.
- A call activity must call a process deployed with it (`check_called_processes`, across files).

The data store and data object rules apply to govflow diagrams (`Doc.govflow`) only: in imported diagrams
the dialect importer removes data objects and data stores as documentation (`app.workflow.dialect_data`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from lxml import etree

from app.workflow.lint.model import HUMAN_TASKS, NS, Doc, Element, bpmn, line_of, local, spiff_ext, text_of
from app.workflow.lint.tasks import find_form
from app.workflow.messages import LintMessage

__all__ = ["check_called_processes", "check_data"]


def check_data(doc: Doc, forms: Mapping[str, bytes]) -> None:
    """Data stores, data objects written by human tasks and data objects read but never written."""
    if not doc.govflow:
        return  # imported diagram: the importer removed them (app.workflow.dialect_data)
    stores = doc.root.iter(bpmn("dataStore")) if doc.executable() else iter(())
    for store in stores:
        doc.add(
            store,
            "error",
            f"不支持数据存储 '{store.get('name') or store.get('id')}' "
            "(data store has no implementation in govflow)",
            "删除数据存储；读写外部系统改为人工确认任务或脚本任务 (remove it; model the access as a task)",
        )
    for proc in doc.executable():
        objects = _data_objects(proc)
        written = {var for _, var in _associations(proc, "dataOutputAssociation", "targetRef", objects)}
        for task, var in _associations(proc, "dataOutputAssociation", "targetRef", objects):
            if local(task) in HUMAN_TASKS and task.get("id") not in doc.refused:
                _check_human_write(doc, task, var, forms)
        for task, var in _associations(proc, "dataInputAssociation", "sourceRef", objects):
            if var not in written and task.get("id") not in doc.refused:
                doc.add(
                    task,
                    "error",
                    f"读取的数据对象 '{var}' 从未被写入 (data object is read but no task writes it)",
                    "给前面的任务加数据输出关联，或删除这条数据输入关联 (write it first or drop the read)",
                )


def _data_objects(proc: Element) -> dict[str, str]:
    """Data object and data object reference ids -> the data object id (the task-data key)."""
    found = {el.get("id", ""): el.get("id", "") for el in proc.iter(bpmn("dataObject"))}
    for ref in proc.iter(bpmn("dataObjectReference")):
        target = ref.get("dataObjectRef", "")
        if target in found:
            found[ref.get("id", "")] = target
    return found


def _associations(
    proc: Element, tag: str, end: str, objects: Mapping[str, str]
) -> Iterable[tuple[Element, str]]:
    """(task, data object id) for each association `tag` whose `end` names a data object."""
    for assoc in proc.iter(bpmn(tag)):
        task = assoc.getparent()
        refs = [text_of(r) for r in assoc.iterfind(f"bpmn:{end}", NS)]
        for ref in refs:
            if task is not None and ref in objects:
                yield task, objects[ref]


def _form_fields(task: Element, forms: Mapping[str, bytes]) -> set[str] | None:
    """Top-level property names of the task's JSON Schema form; None when the form cannot be read."""
    name = text_of(spiff_ext(task, "formJsonSchemaFilename"))
    if not name:
        return set()
    data = find_form(forms, name)
    try:
        schema = json.loads(data.decode("utf-8-sig")) if data is not None else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return None
    return set(schema["properties"])


def _check_human_write(doc: Doc, task: Element, var: str, forms: Mapping[str, bytes]) -> None:
    """A human task writing a data object must get the value from its form."""
    fields = _form_fields(task, forms)
    if fields is None or var in fields:
        return  # an unreadable form is reported by check_forms
    doc.add(
        task,
        "error",
        f"任务的表单没有字段 '{var}'，无法写入数据对象 (data output association needs '{var}' "
        "in the task data, but no form field provides it)",
        f"在表单中加字段 {var}，或删除这条数据关联 (add a form field {var} or remove the association)",
    )


def check_called_processes(trees: Mapping[str, etree._ElementTree]) -> list[LintMessage]:
    """Every call activity of an executable process calls a process present in the deployed files."""
    known = {
        proc.get("id", "") for tree in trees.values() for proc in tree.getroot().iterfind("bpmn:process", NS)
    }
    messages: list[LintMessage] = []
    for name, tree in trees.items():
        for proc in Doc(name, tree.getroot()).executable():
            for call in proc.iter(bpmn("callActivity")):
                called = (call.get("calledElement") or "").strip()
                if called in known:
                    continue
                text = f"调用的流程 '{called}' 不在本次发布的文件中 (call activity calls an unknown process)"
                hint = "把被调用流程的 BPMN 文件一起发布，或改 calledElement (deploy that process with it)"
                label = " ".join((call.get("name") or "").split()) or None
                messages.append(LintMessage(name, line_of(call), call.get("id"), label, "error", text, hint))
    return messages


def check_startable_processes(trees: Mapping[str, etree._ElementTree]) -> list[LintMessage]:
    """Exactly one executable process that no call activity calls: the one a case runs.

    A collaboration whose pools are all executable (each pool started by a signal or a message from
    another) has several; govflow runs one process per case, so the designer must say which.
    """
    called = {
        (call.get("calledElement") or "").strip()
        for tree in trees.values()
        for call in tree.getroot().iter(bpmn("callActivity"))
    }
    startable = [
        (name, proc)
        for name, tree in trees.items()
        for proc in Doc(name, tree.getroot()).executable()
        if proc.get("id", "") not in called
    ]
    if len(startable) < 2:
        return []
    ids = ", ".join(proc.get("id", "") for _, proc in startable)
    text = f"有多个可执行流程 ({ids})，一个案件只运行其中一个 (several executable processes; a case runs one)"
    hint = (
        "把不由本流程发起的池设为不可执行，或分开发布并用调用活动连接 "
        "(mark the other pools non-executable, or deploy them separately)"
    )
    return [
        LintMessage(name, line_of(proc), proc.get("id"), proc.get("name"), "error", text, hint)
        for name, proc in startable[1:]
    ]
