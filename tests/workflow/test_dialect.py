"""The Camunda/Flowable/Activiti importer: notes what it translates, refuses what cannot run."""

from __future__ import annotations

import pytest
from lxml import etree

from app.workflow.dialect import translate
from app.workflow.lint.juel import JuelError, feel_to_python, juel_to_python
from app.workflow.lint.model import NS, spiff_properties
from app.workflow.sandbox import check_expression
from app.workflow.xmlsafe import parse_xml


@pytest.mark.parametrize(
    ("juel", "python"),
    [
        ("${days>=3}", "days >= 3"),
        ("${result=='同意'}", "result == '同意'"),
        ("#{!approved}", "not approved"),
        ("${a && b || !c}", "(a and b) or (not c)"),
        ('${x eq 1 and y ne "n"}', "(x == 1) and (y != 'n')"),
        ("${amount gt 100.5}", "amount > 100.5"),
        ("${order.amount le 10}", "order['amount'] <= 10"),
        ("${invoiceId != null}", "invoiceId is not None"),
        ("${empty items}", "items in (None, '', [], {})"),
        ("${execution.getVariable('x') == true}", "x == True"),
        ("${!clarified.equals('yes')}", "not (clarified == 'yes')"),
        ("${a ? 1 : 2}", "(1 if a else 2)"),
    ],
)
def test_juel_subset_translates_to_sandbox_python(juel: str, python: str) -> None:
    assert juel_to_python(juel) == python
    check_expression(python, "eval")


@pytest.mark.parametrize(
    "juel",
    [
        "${customer.prop('age') > 3}",
        "${execution.setVariable('x', 1)}",
        "${a} ${b}",
        "${a = 1}",
        "${__class__}",
        "${}",
    ],
)
def test_juel_outside_the_subset_is_refused(juel: str) -> None:
    with pytest.raises(JuelError):
        juel_to_python(juel)


def test_simple_feel() -> None:
    assert feel_to_python("=fraud") == "fraud"
    assert feel_to_python('= status = "ok" and n > 2') == "(status == 'ok') and (n > 2)"


DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    xmlns:flowable="http://flowable.org/bpmn" id="defs">
  <process id="p" isExecutable="true">
    <startEvent id="s" camunda:formKey="embedded:app:start.html" />
    <sequenceFlow id="f1" sourceRef="s" targetRef="review" />
    <userTask id="review" name="Review" camunda:candidateGroups="approver" flowable:assignee="${initiator}">
      <multiInstanceLoopCharacteristics camunda:collection="${departments}" camunda:elementVariable="dept" />
    </userTask>
    <sequenceFlow id="f2" sourceRef="review" targetRef="gw" />
    <exclusiveGateway id="gw" />
    <sequenceFlow id="yes" sourceRef="gw" targetRef="java">
      <conditionExpression>${approved
        &amp;&amp; days &gt;= 3}</conditionExpression>
    </sequenceFlow>
    <sequenceFlow id="no" sourceRef="gw" targetRef="groovy">
      <conditionExpression>#{!approved}</conditionExpression></sequenceFlow>
    <serviceTask id="java" camunda:class="org.example.Mail" />
    <serviceTask id="plain" name="Archive" />
    <scriptTask id="groovy" scriptFormat="groovy"><script>println 'x'</script></scriptTask>
    <boundaryEvent id="t1" attachedToRef="review">
      <timerEventDefinition><timeDuration>PT4H</timeDuration></timerEventDefinition></boundaryEvent>
    <boundaryEvent id="t2" attachedToRef="review">
      <timerEventDefinition><timeCycle>0 0/5 * * * ?</timeCycle></timerEventDefinition></boundaryEvent>
    <boundaryEvent id="t3" attachedToRef="review">
      <timerEventDefinition><timeDate>2026-01-01T00:00:00Z</timeDate></timerEventDefinition></boundaryEvent>
  </process>
</definitions>
"""


def _translated() -> tuple[etree._Element, list[str], dict[str, str]]:
    tree = parse_xml(DIAGRAM.encode(), "camunda.bpmn")
    lines = {e.get("id"): e.sourceline for e in tree.getroot().iter() if e.get("id")}
    result = translate(tree, "camunda.bpmn")
    assert result.tree is tree
    root = tree.getroot()
    assert {e.get("id"): e.sourceline for e in root.iter() if e.get("id") in lines} == lines
    notes = [f"{m.element_id}:{m.severity}:{m.text}" for m in result.notes]
    errors = {m.element_id or "": m.text for m in result.errors}
    assert all(m.file == "camunda.bpmn" and m.line for m in [*result.notes, *result.errors])
    return root, notes, errors


def test_conditions_are_translated_and_keep_their_lines() -> None:
    root, notes, _ = _translated()
    yes = root.find(".//bpmn:sequenceFlow[@id='yes']/bpmn:conditionExpression", NS)
    assert yes is not None and yes.text is not None
    assert yes.text.strip() == "approved and (days >= 3)" and yes.text.count("\n") == 1
    assert any(n.startswith("no:note:") and "not approved" in n for n in notes)


def test_timers_quoted_and_cron_refused() -> None:
    root, _, errors = _translated()
    assert root.findtext(".//bpmn:boundaryEvent[@id='t1']//bpmn:timeDuration", namespaces=NS) == '"PT4H"'
    assert (
        root.findtext(".//bpmn:boundaryEvent[@id='t3']//bpmn:timeDate", namespaces=NS)
        == '"2026-01-01T00:00:00Z"'
    )
    assert "cron" in errors["t2"]


def test_assignment_and_collection_become_spiff_constructs() -> None:
    root, notes, _ = _translated()
    task = root.find(".//bpmn:userTask", NS)
    assert task is not None
    assert spiff_properties(task) == {"assignee": "${initiator}", "candidateGroups": "approver"}
    assert root.findtext(".//bpmn:loopDataInputRef", namespaces=NS) == "departments"
    item = root.find(".//bpmn:inputDataItem", NS)
    assert item is not None and item.get("id") == "dept"
    assert any(n.startswith("s:note:") and "formKey" in n for n in notes)


def test_code_tasks_become_manual_tasks_refused_or_made_no_op() -> None:
    root, notes, errors = _translated()
    assert "java" not in errors
    assert root.find(".//bpmn:manualTask[@id='java']", NS) is not None
    assert any(n.startswith("java:warning:") and "camunda:class=org.example.Mail" in n for n in notes)
    assert "groovy" in errors["groovy"]
    plain = root.find(".//bpmn:scriptTask[@id='plain']", NS)
    assert plain is not None and plain.findtext("bpmn:script", namespaces=NS) == "pass"
    assert any(n.startswith("plain:warning:") and "no-op" in n for n in notes)


def test_translation_is_idempotent() -> None:
    tree = parse_xml(DIAGRAM.encode(), "camunda.bpmn")
    translate(tree, "camunda.bpmn")
    again = translate(tree, "camunda.bpmn")
    assert [m for m in again.notes if m.severity == "note" and "translated" in m.text] == []


def test_non_executable_process_is_left_alone() -> None:
    tree = parse_xml(DIAGRAM.replace('isExecutable="true"', 'isExecutable="false"').encode(), "x.bpmn")
    result = translate(tree, "x.bpmn")
    assert list(result) == []
    assert tree.getroot().find("bpmn:process", NS).get("isExecutable") == "false"  # type: ignore[union-attr]
