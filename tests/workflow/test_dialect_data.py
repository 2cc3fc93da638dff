"""Data objects and data stores of imported diagrams are documentation: removed, with located warnings."""

from __future__ import annotations

from datetime import date

from lxml import etree

from app.workflow.dialect import translate
from app.workflow.dialect_data import OBJECT_WARNING, STORE_WARNING
from app.workflow.lint import prepare
from app.workflow.lint.model import NS
from app.workflow.simulate import simulate
from app.workflow.xmlsafe import parse_xml

HEAD = '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs">\n'
BODY = """  <dataStore id="ds" name="人口库" />
  <process id="p" isExecutable="true">
    <startEvent id="s" />
    <sequenceFlow id="f1" sourceRef="s" targetRef="fill" />
    <userTask id="fill" name="填写">
      <ioSpecification>
        <dataOutput id="out" name="申请" />
        <inputSet />
        <outputSet><dataOutputRefs>out</dataOutputRefs></outputSet>
      </ioSpecification>
      <dataOutputAssociation id="w">
        <sourceRef>out</sourceRef>
        <targetRef>ref</targetRef>
      </dataOutputAssociation>
    </userTask>
    <sequenceFlow id="f2" sourceRef="fill" targetRef="check" />
    <userTask id="check" name="核对">
      <dataInputAssociation id="r"><sourceRef>ref</sourceRef></dataInputAssociation>
      <dataInputAssociation id="q"><sourceRef>store_ref</sourceRef></dataInputAssociation>
    </userTask>
    <sequenceFlow id="f3" sourceRef="check" targetRef="e" />
    <dataObject id="form_obj" name="申请表" />
    <dataObjectReference id="ref" name="申请表" dataObjectRef="form_obj" />
    <dataStoreReference id="store_ref" dataStoreRef="ds" />
    <endEvent id="e" />
  </process>
</definitions>
"""
DIAGRAM = HEAD + BODY
DATA_TAGS = (
    "dataObject",
    "dataObjectReference",
    "dataStore",
    "dataStoreReference",
    "dataInputAssociation",
    "dataOutputAssociation",
    "ioSpecification",
)


def _translate(text: str = DIAGRAM):  # type: ignore[no-untyped-def]
    tree = parse_xml(text.encode(), "x.bpmn")
    lines = {e.get("id"): e.sourceline for e in tree.getroot().iter() if e.get("id")}
    result = translate(tree, "x.bpmn")
    kept = {e.get("id"): e.sourceline for e in tree.getroot().iter() if e.get("id")}
    assert kept == {k: v for k, v in lines.items() if k in kept}
    return tree, result


def test_data_objects_stores_io_and_associations_are_removed() -> None:
    tree, result = _translate()
    root = tree.getroot()
    assert [el for tag in DATA_TAGS for el in root.iter(f"{{{NS['bpmn']}}}{tag}")] == []
    assert result.errors == []
    assert root.find(".//bpmn:userTask[@id='check']", NS) is not None


def test_each_removal_is_a_located_warning() -> None:
    _, result = _translate()
    found = {(m.element_id, m.line): m for m in result.notes if m.severity == "warning"}
    assert STORE_WARNING in found[("ds", 2)].text and "人口库" in found[("ds", 2)].text
    assert "1 条数据关联" in found[("ds", 2)].text
    form_obj = found[("form_obj", 23)]
    assert OBJECT_WARNING in form_obj.text and "2 条数据关联" in form_obj.text
    assert OBJECT_WARNING in found[("fill", 6)].text and "数据输入/输出" in found[("fill", 6)].text
    assert ("ref", 24) not in found  # the reference is reported with its data object


def test_serialized_bytes_keep_every_line() -> None:
    prepared = prepare({"x.bpmn": DIAGRAM.encode()}, {})
    text = prepared.files["x.bpmn"].decode()
    assert text.rstrip().count("\n") == DIAGRAM.rstrip().count("\n")
    again = etree.fromstring(prepared.files["x.bpmn"])
    lines = {e.get("id"): e.sourceline for e in again.iter() if e.get("id")}
    original = {e.get("id"): e.sourceline for e in etree.fromstring(DIAGRAM.encode()).iter() if e.get("id")}
    assert all(original[k] == v for k, v in lines.items())


def test_translation_is_idempotent() -> None:
    tree, _ = _translate()
    again = translate(tree, "x.bpmn")
    assert list(again) == []


def test_imported_diagram_deploys_and_runs() -> None:
    files = {"x.bpmn": DIAGRAM.encode()}
    assert prepare(files, {}).errors == ()
    report = simulate(files, {}, today=date(2026, 3, 2))
    assert report.ok and report.end_reached, report.reason
    assert [s.bpmn_id for s in report.steps] == ["fill", "check"]


def test_govflow_diagram_keeps_data_objects_and_their_errors() -> None:
    spiff = (
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs">\n'
    )
    marker = (
        '<process id="p" isExecutable="true"><extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="timeLimitWorkingDays" value="3" />'
        "</spiffworkflow:properties></extensionElements>"
    )
    text = spiff + BODY.replace('<process id="p" isExecutable="true">', marker)
    tree, result = _translate(text)
    assert tree.getroot().find(".//bpmn:dataObject", NS) is not None
    assert [m for m in result.notes if OBJECT_WARNING in m.text or STORE_WARNING in m.text] == []
    errors = prepare({"x.bpmn": text.encode()}, {}).errors
    assert any(m.element_id == "ds" and "data store" in m.text for m in errors)


def test_event_data_inputs_are_removed_too() -> None:
    event = (
        '<intermediateThrowEvent id="note" name="通知">\n'
        '      <dataInput id="di" />\n'
        '      <dataInputAssociation id="da"><sourceRef>ref</sourceRef><targetRef>di</targetRef>'
        "</dataInputAssociation>\n"
        "      <inputSet><dataInputRefs>di</dataInputRefs></inputSet>\n"
        "    </intermediateThrowEvent>\n"
        '    <sequenceFlow id="f3" sourceRef="check" targetRef="note" />\n'
        '    <sequenceFlow id="f4" sourceRef="note" targetRef="e" />'
    )
    text = DIAGRAM.replace('<sequenceFlow id="f3" sourceRef="check" targetRef="e" />', event)
    tree, result = _translate(text)
    node = tree.getroot().find(".//bpmn:intermediateThrowEvent", NS)
    assert node is not None and len(node) == 0
    assert any(m.element_id == "note" and OBJECT_WARNING in m.text for m in result.notes)
    report = simulate({"x.bpmn": text.encode()}, {}, today=date(2026, 3, 2))
    assert report.ok and report.end_reached, report.reason
