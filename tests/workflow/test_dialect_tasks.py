"""Integration steps (Java delegates, external tasks, Zeebe jobs) become 人工确认 manual tasks."""

from __future__ import annotations

from datetime import date

import pytest

from app.workflow.compiler import compile_process
from app.workflow.dialect import translate
from app.workflow.lint import prepare
from app.workflow.lint.model import NS, spiff_properties
from app.workflow.simulate import simulate
from app.workflow.xmlsafe import parse_xml

HEAD = (
    '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"\n'
    '    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:flowable="http://flowable.org/bpmn"\n'
    '    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs">\n'
)
DIAGRAM = (
    HEAD
    + """  <process id="p" isExecutable="true">
    <startEvent id="s" />
    <sequenceFlow id="f1" sourceRef="s" targetRef="tweet" />
    <serviceTask id="tweet" name="Publish" camunda:delegateExpression="${tweetAdapter}">
      <incoming>f1</incoming>
      <outgoing>f2</outgoing>
    </serviceTask>
    <boundaryEvent id="late" attachedToRef="tweet">
      <timerEventDefinition><timeDuration>"P1D"</timeDuration></timerEventDefinition></boundaryEvent>
    <sequenceFlow id="late_f" sourceRef="late" targetRef="e" />
    <sequenceFlow id="f2" sourceRef="tweet" targetRef="mail" />
    <sendTask id="mail" name="Mail" camunda:type="external" camunda:topic="mailer" />
    <sequenceFlow id="f3" sourceRef="mail" targetRef="job" />
    <serviceTask id="job" name="Job">
      <extensionElements><zeebe:taskDefinition type="crm" /></extensionElements>
    </serviceTask>
    <sequenceFlow id="f4" sourceRef="job" targetRef="bean" />
    <serviceTask id="bean" flowable:class="org.example.Bean" />
    <sequenceFlow id="f5" sourceRef="bean" targetRef="dmn" />
    <businessRuleTask id="dmn" camunda:decisionRef="approve" />
    <sequenceFlow id="f6" sourceRef="dmn" targetRef="e" />
    <endEvent id="e" />
  </process>
</definitions>
"""
)

IMPORTED = {
    "tweet": "camunda:delegateExpression=${tweetAdapter}",
    "mail": "camunda:topic=mailer",
    "job": "zeebe:taskDefinition type=crm",
    "bean": "flowable:class=org.example.Bean",
}


def _translate(text: str = DIAGRAM):  # type: ignore[no-untyped-def]
    tree = parse_xml(text.encode(), "x.bpmn")
    lines = {e.get("id"): e.sourceline for e in tree.getroot().iter() if e.get("id")}
    result = translate(tree, "x.bpmn")
    after = {e.get("id"): e.sourceline for e in tree.getroot().iter() if e.get("id") in lines}
    assert after == lines
    return tree.getroot(), result


@pytest.mark.parametrize(("task_id", "imported"), sorted(IMPORTED.items()))
def test_integration_task_becomes_manual_task_with_imported_from(task_id: str, imported: str) -> None:
    root, result = _translate()
    task = root.find(f".//bpmn:manualTask[@id='{task_id}']", NS)
    assert task is not None
    assert spiff_properties(task) == {"importedFrom": imported}
    warning = next(m for m in result.notes if m.element_id == task_id)
    assert warning.severity == "warning" and warning.line == task.sourceline
    assert "已转为人工确认任务" in warning.text and imported in warning.text
    assert "改回服务任务" in warning.hint


def test_name_flows_and_boundary_events_are_kept() -> None:
    root, _ = _translate()
    task = root.find(".//bpmn:manualTask[@id='tweet']", NS)
    assert task is not None and task.get("name") == "Publish"
    assert [el.text for el in task.iterfind("bpmn:incoming", NS)] == ["f1"]
    boundary = root.find(".//bpmn:boundaryEvent[@id='late']", NS)
    assert boundary is not None and boundary.get("attachedToRef") == "tweet"
    assert not any("camunda.org" in name for name in task.attrib)


def test_dmn_business_rule_task_stays_an_error() -> None:
    _, result = _translate()
    assert [m.element_id for m in result.errors] == ["dmn"]


def test_translation_is_idempotent() -> None:
    tree = parse_xml(DIAGRAM.encode(), "x.bpmn")
    translate(tree, "x.bpmn")
    again = translate(tree, "x.bpmn")
    assert [m for m in again.notes if "人工确认" in m.text] == []
    props = tree.getroot().findall(".//spiffworkflow:property[@name='importedFrom']", NS)
    assert len(props) == len(IMPORTED)


RUNNABLE = (
    HEAD
    + """  <process id="p" isExecutable="true">
    <startEvent id="s" />
    <sequenceFlow id="f1" sourceRef="s" targetRef="tweet" />
    <serviceTask id="tweet" name="Publish" camunda:delegateExpression="${tweetAdapter}" />
    <sequenceFlow id="f2" sourceRef="tweet" targetRef="e" />
    <endEvent id="e" />
  </process>
</definitions>
"""
)


def test_manual_task_is_a_human_step_that_a_person_confirms() -> None:
    files = {"x.bpmn": RUNNABLE.encode()}
    assert prepare(files, {}).errors == ()
    compiled = compile_process(files, {})
    step = next(s for s in compiled.steps if s.bpmn_id == "tweet")
    assert step.properties["importedFrom"] == "camunda:delegateExpression=${tweetAdapter}"
    report = simulate(files, {}, today=date(2026, 3, 2))
    assert report.ok and report.end_reached
    assert [(s.bpmn_id, s.action) for s in report.steps] == [("tweet", "complete")]


NO_IMPLEMENTATION = (
    HEAD
    + """  <process id="p" isExecutable="true">
    <startEvent id="s" />
    <sequenceFlow id="f1" sourceRef="s" targetRef="archive" />
    <serviceTask id="archive" name="归档" implementation="##WebService">
      <incoming>f1</incoming>
      <outgoing>f2</outgoing>
    </serviceTask>
    <sequenceFlow id="f2" sourceRef="archive" targetRef="check" />
    <userTask id="check" name="核对" />
    <sequenceFlow id="f3" sourceRef="check" targetRef="e" />
    <endEvent id="e" />
  </process>
</definitions>
"""
)


def test_service_task_without_implementation_becomes_a_no_op_script_task() -> None:
    root, result = _translate(NO_IMPLEMENTATION)
    task = root.find(".//bpmn:scriptTask[@id='archive']", NS)
    assert task is not None and task.get("name") == "归档" and task.get("implementation") is None
    assert task.findtext("bpmn:script", namespaces=NS) == "pass"
    assert [el.text for el in task.iterfind("bpmn:incoming", NS)] == ["f1"]
    warning = next(m for m in result.notes if m.element_id == "archive")
    assert warning.severity == "warning" and warning.line == task.sourceline
    assert "没有实现的服务任务按空操作执行" in warning.text and "no-op" in warning.text
    assert result.errors == []


def test_no_op_service_task_completes_by_itself() -> None:
    files = {"x.bpmn": NO_IMPLEMENTATION.encode()}
    assert prepare(files, {}).errors == ()
    compiled = compile_process(files, {})
    assert [s.bpmn_id for s in compiled.steps] == ["check"]
    report = simulate(files, {}, today=date(2026, 3, 2))
    assert report.ok and report.end_reached
    assert [(s.bpmn_id, s.action) for s in report.steps] == [("check", "complete")]


def test_no_op_translation_is_idempotent() -> None:
    tree = parse_xml(NO_IMPLEMENTATION.encode(), "x.bpmn")
    translate(tree, "x.bpmn")
    again = translate(tree, "x.bpmn")
    assert list(again) == []
    assert len(tree.getroot().findall(".//bpmn:script", NS)) == 1


RULES = (
    HEAD
    + """  <process id="p" isExecutable="true">
    <startEvent id="s" />
    <sequenceFlow id="f1" sourceRef="s" targetRef="rule" />
    <businessRuleTask id="rule" name="选择发布平台" implementation="##unspecified">
      <documentation>按招聘岗位选择第三方平台</documentation>
    </businessRuleTask>
    <sequenceFlow id="f2" sourceRef="rule" targetRef="e" />
    <endEvent id="e" />
  </process>
</definitions>
"""
)


def test_unbound_business_rule_task_becomes_a_manual_task() -> None:
    root, result = _translate(RULES)
    task = root.find(".//bpmn:manualTask[@id='rule']", NS)
    assert task is not None and spiff_properties(task)["importedFrom"] == "businessRuleTask=##unspecified"
    warning = next(m for m in result.notes if m.element_id == "rule")
    assert warning.severity == "warning" and "人工判断" in warning.text
    report = simulate({"x.bpmn": RULES.encode()}, {}, today=date(2026, 3, 2))
    assert report.ok and [s.bpmn_id for s in report.steps] == ["rule"]


@pytest.mark.parametrize("attrs", ['implementation="other"', 'implementation="##WebService"'])
def test_business_rule_task_bound_to_something_else_stays_an_error(attrs: str) -> None:
    text = RULES.replace('implementation="##unspecified"', attrs)
    errors = [m for m in prepare({"x.bpmn": text.encode()}, {}).errors if m.element_id == "rule"]
    assert errors and "DMN" in errors[0].text
