"""The lanes of a BPMN file as a diagram shows them: each lane's name and the multi-instance element
variables of the tasks it holds, and the file with lanes renamed (nothing else changed) for a viewer.
Parsed with the safe parser: no entities, no DTD, no network.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from lxml import etree

from app.workflow.xmlsafe import parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


@dataclass(frozen=True)
class Lane:
    """A lane: its id and name, and `element_variables`: for each multi-instance task in the lane, the
    variable each instance reads its item from (`inputDataItem`, or a dialect's `elementVariable`)
    mapped to the collection it runs over (`loopDataInputRef` / `collection`; "" when not named)."""

    id: str
    name: str
    element_variables: Mapping[str, str] = field(default_factory=dict)


def _bpmn(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def _element_variables(node: etree._Element) -> dict[str, str]:
    """The multi-instance element variable of a flow node -> its collection ({} when not multi-instance)."""
    loop = node.find(_bpmn("multiInstanceLoopCharacteristics"))
    if loop is None:
        return {}
    collection = (loop.findtext(_bpmn("loopDataInputRef")) or "").strip()
    names: dict[str, str] = {}
    item = loop.find(_bpmn("inputDataItem"))
    if item is not None and (item.get("name") or item.get("id")):
        names[str(item.get("name") or item.get("id"))] = collection
    for attribute, raw in loop.attrib.items():  # camunda:/flowable:/activiti: elementVariable, collection
        name, value = etree.QName(attribute), str(raw).strip()
        if name.localname == "elementVariable" and value:
            names[value] = collection or str(loop.get(f"{{{name.namespace}}}collection") or "").strip()
    return names


def relabel_lanes(xml: bytes, label: Callable[[Lane], str | None], filename: str = "diagram.bpmn") -> bytes:
    """The XML with every lane for which `label` gives a text renamed to it; ids, flow node references,
    diagram shapes and everything else as they were. Raises ProcessInvalid for unreadable XML."""
    tree = parse_xml(xml, filename)
    nodes = {node.get("id"): node for node in tree.iter() if isinstance(node.tag, str) and node.get("id")}
    changed = False
    for element in tree.iter(_bpmn("lane")):
        variables: dict[str, str] = {}
        for ref in element.iterfind(_bpmn("flowNodeRef")):
            node = nodes.get((ref.text or "").strip())
            if node is not None:
                variables |= _element_variables(node)
        lane = Lane(element.get("id", ""), element.get("name", ""), variables)
        text = label(lane)
        if text is not None and text != lane.name:
            element.set("name", text)
            changed = True
    if not changed:
        return xml
    return bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))
