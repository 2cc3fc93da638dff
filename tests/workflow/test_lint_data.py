"""Data stores, data objects and call activities are reported before the parser or the engine fails."""

from __future__ import annotations

import json

from app.workflow.lint import prepare
from app.workflow.messages import LintMessage

HEAD = (
    '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs">\n'
)
# a designer-written spiffworkflow extension makes this a govflow diagram (Doc.govflow): the data rules apply
GOVFLOW = (
    "<extensionElements><spiffworkflow:properties>"
    '<spiffworkflow:property name="timeLimitWorkingDays" value="3" />'
    "</spiffworkflow:properties></extensionElements>"
)
FORM = (
    "<extensionElements><spiffworkflow:formJsonSchemaFilename>f.schema.json"
    "</spiffworkflow:formJsonSchemaFilename></extensionElements>"
)
EMPTY_FORM = {"f.schema.json": json.dumps({"type": "object", "properties": {}}).encode()}


def _errors(body: str, forms: dict[str, bytes] | None = None, extra: str = "") -> list[LintMessage]:
    text = (
        HEAD + extra + f'<process id="p" isExecutable="true">{GOVFLOW}\n{body}\n</process>\n</definitions>\n'
    )
    return list(prepare({"x.bpmn": text.encode()}, forms or {}).errors)


FLOW = """<startEvent id="s" /><sequenceFlow id="f1" sourceRef="s" targetRef="t" />
<sequenceFlow id="f2" sourceRef="t" targetRef="e" /><endEvent id="e" />
<dataObject id="approved_obj" /><dataObjectReference id="ref" name="approved" dataObjectRef="approved_obj" />
"""
WRITE = '<dataOutputAssociation id="o"><targetRef>ref</targetRef></dataOutputAssociation>'


def test_data_store_is_an_error_at_its_line() -> None:
    found = _errors(
        FLOW.replace("<dataObject ", '<task id="t" /><dataObject '),
        extra='<dataStore id="ds" name="人口库" />\n',
    )
    assert [(m.element_id, m.line) for m in found] == [("ds", 2)]
    assert "人口库" in found[0].text


def test_human_task_writing_a_data_object_needs_a_form_field() -> None:
    task = f'<userTask id="t">{FORM}{WRITE}</userTask>'
    found = _errors(FLOW + task, EMPTY_FORM)
    assert [m.element_id for m in found] == ["t"] and "approved_obj" in found[0].text


def test_form_field_named_after_the_data_object_satisfies_it() -> None:
    task = f'<userTask id="t">{FORM}{WRITE}</userTask>'
    schema = {"type": "object", "properties": {"approved_obj": {"type": "boolean", "default": True}}}
    assert _errors(FLOW + task, {"f.schema.json": json.dumps(schema).encode()}) == []


def test_reading_a_data_object_nobody_writes_is_an_error() -> None:
    task = (
        '<task id="t"><dataInputAssociation id="i"><sourceRef>ref</sourceRef></dataInputAssociation></task>'
    )
    found = _errors(FLOW + task)
    assert [m.element_id for m in found] == ["t"] and "从未被写入" in found[0].text


def test_call_activity_to_a_process_not_deployed_is_located() -> None:
    body = """<startEvent id="s" /><sequenceFlow id="f1" sourceRef="s" targetRef="c" />
<callActivity id="c" name="调用" calledElement="missing" />
<sequenceFlow id="f2" sourceRef="c" targetRef="e" /><endEvent id="e" />"""
    found = _errors(body)
    assert [(m.element_id, m.line) for m in found] == [("c", 4)]  # header, <process>, first line
    assert "missing" in found[0].text
