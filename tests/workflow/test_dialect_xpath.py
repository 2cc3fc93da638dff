"""XPath data-object conditions (`bpmn:getDataObject('x')`) become Python; other XPath is a located error."""

from __future__ import annotations

from datetime import date

import pytest

from app.workflow.dialect import translate
from app.workflow.lint import prepare
from app.workflow.lint.model import NS
from app.workflow.lint.xpath import XPathError, xpath_to_python
from app.workflow.sandbox import check_expression
from app.workflow.simulate import simulate
from app.workflow.xmlsafe import parse_xml


@pytest.mark.parametrize(
    ("xpath", "python"),
    [
        ("bpmn:getDataObject('approved')", "approved == True"),
        ('getDataObject("approved")', "approved == True"),
        ("not(bpmn:getDataObject('approved'))", "not (approved == True)"),
        ("getDataObject('approved') = true()", "approved == True"),
        ("getDataObject('approved') != false()", "approved != False"),
        ("bpmn:getDataObject('clarified') = 'yes'", "clarified == 'yes'"),
        ("getDataObject('days') >= 3", "days >= 3"),
        (
            "getDataObject('days') > 3 and (getDataObject('ok') or not(getDataObject('x') = 'n'))",
            "days > 3 and (ok == True or not (x == 'n'))",
        ),
        ("not(getDataObject('a')) = true()", "(not (a == True)) == True"),
    ],
)
def test_supported_forms(xpath: str, python: str) -> None:
    assert xpath_to_python(xpath) == python
    check_expression(python, "eval")


@pytest.mark.parametrize(
    "xpath",
    [
        "getDataObject('order')/amount > 3",
        "count(getDataObject('items')) > 0",
        "getDataObject('a') + 1 = 2",
        "getDataObject('bad name') = 1",
        "getDataObject('__class__') = 1",
        "getDataObject('a') =",
        "getDataObject('a') = 1 = 2",
    ],
)
def test_other_xpath_is_refused(xpath: str) -> None:
    with pytest.raises(XPathError):
        xpath_to_python(xpath)


HEAD = (
    '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs"\n'
    '    expressionLanguage="http://www.w3.org/1999/XPath">\n'
)


def diagram(
    yes: str = "bpmn:getDataObject('approved')", no: str = "not(bpmn:getDataObject('approved'))"
) -> str:
    return (
        HEAD
        + f"""  <process id="p" isExecutable="true">
    <startEvent id="s" />
    <sequenceFlow id="f1" sourceRef="s" targetRef="gw" />
    <exclusiveGateway id="gw" />
    <sequenceFlow id="yes" sourceRef="gw" targetRef="pay">
      <conditionExpression language="http://www.w3.org/1999/XPath"><![CDATA[{yes}]]></conditionExpression>
    </sequenceFlow>
    <sequenceFlow id="no" sourceRef="gw" targetRef="e">
      <conditionExpression><![CDATA[{no}]]></conditionExpression>
    </sequenceFlow>
    <userTask id="pay" name="付款" />
    <sequenceFlow id="f2" sourceRef="pay" targetRef="e" />
    <endEvent id="e" />
  </process>
</definitions>
"""
    )


def test_conditions_are_translated_in_place_with_a_note() -> None:
    tree = parse_xml(diagram().encode(), "x.bpmn")
    result = translate(tree, "x.bpmn")
    yes = tree.getroot().find(".//bpmn:sequenceFlow[@id='yes']/bpmn:conditionExpression", NS)
    assert yes is not None and yes.text == "approved == True" and yes.get("language") is None
    note = next(m for m in result.notes if m.element_id == "yes")
    assert note.severity == "note" and note.line == 8 and "XPath" in note.text
    assert result.errors == []


def test_both_exits_run() -> None:
    files = {"x.bpmn": diagram().encode()}
    assert prepare(files, {}).errors == ()
    approved = simulate(files, {}, data={"approved": True}, today=date(2026, 3, 2))
    assert approved.ok and [s.bpmn_id for s in approved.steps] == ["pay"]
    refused = simulate(files, {}, data={"approved": False}, today=date(2026, 3, 2))
    assert refused.ok and refused.end_reached and refused.steps == []


def test_unsupported_xpath_is_a_located_error() -> None:
    text = diagram(yes="getDataObject('order')/amount > 3")
    errors = prepare({"x.bpmn": text.encode()}, {}).errors
    assert [(m.element_id, m.line) for m in errors] == [("yes", 8)]  # the condition's line
    assert "XPath" in errors[0].text and errors[0].hint
