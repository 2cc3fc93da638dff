"""Integration steps of imported diagrams become 人工确认 (manual confirmation) tasks.

A Camunda/Flowable/Activiti/Zeebe service or send task names code govflow cannot run: a Java class
(`camunda:class`), a bean (`camunda:delegateExpression`, `camunda:expression`), an external-task topic
(`camunda:type="external"` + `camunda:topic`), a connector (`camunda:connector`) or a Zeebe job type
(`zeebe:taskDefinition`). Until the integration exists, a person confirms that the external step was done:
the element becomes a `bpmn:manualTask` with the same id, name, flows, boundary events and diagram shape,
and keeps what it called in the spiffworkflow property `importedFrom`. The importer reports each one as
a located warning.

The rewrite only renames the element, drops the translated engine attributes and appends a property
on an existing line, so every later message still points at a line of the original file.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from app.workflow.lint.model import NS, SPIFF_NS, Element, bpmn

__all__ = [
    "ENGINE_NS",
    "ZEEBE_NS",
    "Integration",
    "add_property",
    "integration_of",
    "is_convertible",
    "to_manual_task",
]

ENGINE_NS = {
    "camunda": "http://camunda.org/schema/1.0/bpmn",
    "activiti": "http://activiti.org/bpmn",
    "flowable": "http://flowable.org/bpmn",
}
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
CONVERTIBLE = ("serviceTask", "sendTask")
# attribute -> what a designer calls it
IMPLEMENTATION_ATTRS = {
    "class": "Java delegate",
    "delegateExpression": "Java delegate",
    "expression": "表达式调用 expression",
    "topic": "外部任务 external task",
}
# attributes that only qualify the implementation (removed together with it)
QUALIFIER_ATTRS = ("type", "resultVariable", "taskPriority")


@dataclass(frozen=True)
class Integration:
    """What an integration task calls: a label for people and `prefix:attr=value` parts for importedFrom."""

    label: str
    parts: tuple[str, ...]

    @property
    def imported_from(self) -> str:
        """The value stored in the `importedFrom` property."""
        return "; ".join(self.parts)


def _attr_parts(task: Element) -> tuple[list[str], list[str]]:
    """(labels, prefix:attr=value parts) of the engine implementation attributes on `task`."""
    labels: list[str] = []
    parts: list[str] = []
    for prefix, ns in ENGINE_NS.items():
        for attr, label in IMPLEMENTATION_ATTRS.items():
            value = task.get(f"{{{ns}}}{attr}")
            if value is not None:
                labels.append(label)
                parts.append(f"{prefix}:{attr}={value.strip()}")
        kind = task.get(f"{{{ns}}}type")
        if kind is not None and task.get(f"{{{ns}}}topic") is None:
            labels.append(f"{prefix}:type {kind}")
            parts.append(f"{prefix}:type={kind.strip()}")
    return labels, parts


def _extension_parts(task: Element) -> tuple[list[str], list[str]]:
    """(labels, parts) of implementation extension elements: Zeebe job types and Camunda connectors."""
    labels: list[str] = []
    parts: list[str] = []
    ext = task.find("bpmn:extensionElements", NS)
    if ext is None:
        return labels, parts
    for definition in ext.iterfind(f"{{{ZEEBE_NS}}}taskDefinition"):
        labels.append("Zeebe 作业 job worker")
        parts.append(f"zeebe:taskDefinition type={(definition.get('type') or '').strip()}")
    camunda = ENGINE_NS["camunda"]
    for connector in ext.iterfind(f"{{{camunda}}}connector"):
        connector_id = (connector.findtext(f"{{{camunda}}}connectorId") or "").strip()
        labels.append("连接器 connector")
        parts.append(f"camunda:connector={connector_id}")
    return labels, parts


def integration_of(task: Element) -> Integration | None:
    """The engine implementation a service/send/... task names, or None when it names none."""
    labels, parts = _attr_parts(task)
    more_labels, more_parts = _extension_parts(task)
    labels += more_labels
    parts += more_parts
    if not parts:
        return None
    return Integration(", ".join(dict.fromkeys(labels)), tuple(parts))


def add_property(task: Element, name: str, value: str) -> None:
    """Append a spiffworkflow:property, creating extensionElements/properties on the element's first line."""
    ext = task.find("bpmn:extensionElements", NS)
    if ext is None:
        ext = etree.Element(bpmn("extensionElements"))
        task.insert(0, ext)
        ext.tail = task.text
        task.text = None
    props = ext.find("spiffworkflow:properties", NS)
    if props is None:
        props = etree.SubElement(ext, f"{{{SPIFF_NS}}}properties", nsmap={"spiffworkflow": SPIFF_NS})
    etree.SubElement(props, f"{{{SPIFF_NS}}}property", name=name, value=value)


def to_manual_task(task: Element, found: Integration) -> None:
    """Rename `task` to bpmn:manualTask in place, drop the engine attributes, record importedFrom."""
    task.tag = bpmn("manualTask")
    for ns in ENGINE_NS.values():
        for attr in (*IMPLEMENTATION_ATTRS, *QUALIFIER_ATTRS):
            task.attrib.pop(f"{{{ns}}}{attr}", "")
    for attr in ("implementation", "messageRef", "operationRef"):
        task.attrib.pop(attr, "")
    add_property(task, "importedFrom", found.imported_from)


def is_convertible(task: Element) -> bool:
    """Whether the element kind may become a manual confirmation task (service and send tasks only)."""
    return etree.QName(task).localname in CONVERTIBLE
