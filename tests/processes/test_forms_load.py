"""Static checks of the shipped process diagrams and forms: schemas load, references resolve, every
diagram has complete, non-overlapping layout (BPMNDI) so it opens cleanly in a modeler."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ROOT / "processes"
FORMS = ROOT / "forms"

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
FLOW_NODE_TAGS = (
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess",
    "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway",
)  # fmt: skip
ROLES = ("clerk", "approver", "dept_head", "leader", "office", "supervisor", "inspector",
         "applicant", "operator", "arbiter")  # fmt: skip
DEPARTMENTS = ("approval", "market", "nature", "eco", "housing", "fire", "tax", "police", "office",
               "hotline", "supervision")  # fmt: skip
LANE_NAME = re.compile(rf"^({'|'.join(ROLES)})(@({'|'.join(DEPARTMENTS)}|\{{[a-z][a-z0-9_]*\}}))?$")

SCHEMA_FILES = sorted(FORMS.glob("*.schema.json"))
UI_FILES = sorted(FORMS.glob("*.uischema.json"))
BPMN_FILES = sorted(PROCESSES.glob("*.bpmn"))

Box = tuple[float, float, float, float]


def _parse_xml(path: Path) -> etree._ElementTree:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)
    return etree.parse(str(path), parser)


def _attr(el: etree._Element, name: str) -> str:
    return el.get(name) or ""


def _process(doc: etree._ElementTree) -> etree._Element:
    process = doc.find("bpmn:process", NS)
    assert process is not None, "no bpmn:process"
    return process


def _flow_nodes(process: etree._Element) -> list[etree._Element]:
    return [el for tag in FLOW_NODE_TAGS for el in process.iterfind(f"bpmn:{tag}", NS)]


def _bounds(shape: etree._Element) -> Box:
    b = shape.find("dc:Bounds", NS)
    assert b is not None, f"shape {shape.get('id')} has no dc:Bounds"
    return (float(_attr(b, "x")), float(_attr(b, "y")), float(_attr(b, "width")), float(_attr(b, "height")))


def _overlap(a: Box, b: Box) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def _inside(point: tuple[float, float], box: Box) -> bool:
    x, y = point
    bx, by, bw, bh = box
    return bx <= x <= bx + bw and by <= y <= by + bh


def _shapes(doc: etree._ElementTree) -> dict[str, etree._Element]:
    return {_attr(s, "bpmnElement"): s for s in doc.iterfind(".//bpmndi:BPMNShape", NS)}


def test_forms_and_processes_exist() -> None:
    assert SCHEMA_FILES, "no forms/*.schema.json"
    assert BPMN_FILES, "no processes/*.bpmn"


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_form_schema_is_valid_draft_2020_12(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema.get("$schema") == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert schema.get("type") == "object"
    assert schema.get("title"), "a form needs a (Chinese) title"
    properties = schema.get("properties", {})
    assert set(schema.get("required", [])) <= set(properties), "required names an unknown field"
    for name, prop in properties.items():
        assert prop.get("title"), f"field {name} has no title"


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: p.name)
def test_ui_schema_matches_its_form(path: Path) -> None:
    ui = json.loads(path.read_text(encoding="utf-8"))
    schema_path = FORMS / path.name.replace(".uischema.json", ".schema.json")
    assert schema_path.exists(), f"{path.name} has no matching {schema_path.name}"
    properties = json.loads(schema_path.read_text(encoding="utf-8"))["properties"]
    order = ui.get("ui:order", [])
    assert set(order) - {"*"} <= set(properties), "ui:order names an unknown field"
    widgets = {k for k in ui if not k.startswith("ui:")}
    assert widgets <= set(properties), "ui schema configures an unknown field"


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_one_executable_process_named_like_the_file(path: Path) -> None:
    doc = _parse_xml(path)
    processes = doc.findall("bpmn:process", NS)
    executable = [p for p in processes if p.get("isExecutable") == "true"]
    assert len(executable) == 1
    assert executable[0].get("id") == path.stem


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_referenced_forms_exist(path: Path) -> None:
    doc = _parse_xml(path)
    refs = [
        (el.text or "").strip()
        for tag in ("formJsonSchemaFilename", "formUiSchemaFilename")
        for el in doc.iterfind(f".//spiffworkflow:{tag}", NS)
    ]
    assert refs
    missing = sorted({r for r in refs if not (FORMS / r).is_file()})
    assert not missing, f"{path.name} references missing forms: {missing}"


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_user_tasks_have_form_instructions_and_lane(path: Path) -> None:
    doc = _parse_xml(path)
    lane_of = {ref.text: lane.get("name") for lane in doc.iterfind(".//bpmn:lane", NS)
               for ref in lane.iterfind("bpmn:flowNodeRef", NS)}  # fmt: skip
    for lane_name in set(lane_of.values()):
        assert LANE_NAME.match(lane_name or ""), f"lane {lane_name!r} names no known role"
    for task in doc.iterfind(".//bpmn:userTask", NS):
        tid = task.get("id")
        ext = task.find("bpmn:extensionElements", NS)
        assert ext is not None, f"{tid}: no extensionElements"
        assert ext.findtext("spiffworkflow:formJsonSchemaFilename", namespaces=NS), f"{tid}: no form"
        assert ext.findtext("spiffworkflow:instructionsForEndUser", namespaces=NS), f"{tid}: no instructions"
        assert tid in lane_of, f"{tid}: not in a lane"


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_every_element_has_layout(path: Path) -> None:
    doc = _parse_xml(path)
    shapes = _shapes(doc)
    edges = {_attr(e, "bpmnElement"): e for e in doc.iterfind(".//bpmndi:BPMNEdge", NS)}
    process = _process(doc)
    for node in _flow_nodes(process):
        assert _attr(node, "id") in shapes, f"{node.get('id')}: no BPMNShape"
        _bounds(shapes[_attr(node, "id")])
    for lane in doc.iterfind(".//bpmn:lane", NS):
        assert lane.get("id") in shapes, f"lane {lane.get('id')}: no BPMNShape"
    for participant in doc.iterfind(".//bpmn:participant", NS):
        assert participant.get("id") in shapes, f"pool {participant.get('id')}: no BPMNShape"
    for flow in process.iterfind("bpmn:sequenceFlow", NS):
        edge = edges.get(_attr(flow, "id"))
        assert edge is not None, f"{flow.get('id')}: no BPMNEdge"
        assert len(edge.findall("di:waypoint", NS)) >= 2, f"{flow.get('id')}: fewer than 2 waypoints"


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_shapes_do_not_overlap_and_stay_in_their_lane(path: Path) -> None:
    doc = _parse_xml(path)
    shapes = _shapes(doc)
    process = _process(doc)
    nodes = _flow_nodes(process)
    host_of = {_attr(n, "id"): _attr(n, "attachedToRef") for n in nodes if n.get("attachedToRef")}
    boxes = {_attr(n, "id"): _bounds(shapes[_attr(n, "id")]) for n in nodes}
    ids = sorted(boxes)
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            if host_of.get(a) == b or host_of.get(b) == a:
                continue  # a boundary event sits on its host's border
            assert not _overlap(boxes[a], boxes[b]), f"{path.name}: shapes {a} and {b} overlap"
    for lane in doc.iterfind(".//bpmn:lane", NS):
        lane_box = _bounds(shapes[_attr(lane, "id")])
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            x, y, w, h = boxes[ref.text or ""]
            if ref.text in host_of:
                assert _inside((x + w / 2, y + h / 2), lane_box), (
                    f"{ref.text} outside lane {lane.get('name')}"
                )
            else:
                for corner in ((x, y), (x + w, y + h)):
                    assert _inside(corner, lane_box), f"{ref.text} outside lane {lane.get('name')}"
