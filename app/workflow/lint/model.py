"""Shared vocabulary of the linter: namespaces, element kinds and a located-message factory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

from app.workflow.messages import LintMessage, Severity

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "bpmndi": BPMNDI_NS, "spiffworkflow": SPIFF_NS}
THIRD_PARTY_NS = (
    "http://camunda.org/schema/1.0/bpmn",
    "http://activiti.org/bpmn",
    "http://flowable.org/bpmn",
    "http://camunda.org/schema/zeebe/1.0",
)

Element = etree._Element

GATEWAYS = frozenset(
    {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"}
)
EVENTS = frozenset(
    {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
)
CONTAINERS = frozenset({"subProcess", "transaction", "adHocSubProcess"})
ACTIVITIES = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "scriptTask",
        "serviceTask",
        "sendTask",
        "receiveTask",
        "businessRuleTask",
        "callActivity",
    }
    | CONTAINERS
)
FLOW_NODES = GATEWAYS | EVENTS | ACTIVITIES
HUMAN_TASKS = frozenset({"userTask", "manualTask"})
# spiffworkflow properties written by the dialect importer (app.workflow.dialect_tasks / dialect_routes)
IMPORTER_PROPERTIES = frozenset({"importedFrom", "routeChoices"})


def bpmn(tag: str) -> str:
    """The Clark name of a BPMN model element."""
    return f"{{{BPMN_NS}}}{tag}"


def local(el: Element) -> str:
    """The local name of an element ('' for comments and processing instructions)."""
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def is_bpmn(el: Element, *names: str) -> bool:
    """Whether `el` is a BPMN model element, optionally one of `names`."""
    if not isinstance(el.tag, str) or etree.QName(el).namespace != BPMN_NS:
        return False
    return not names or local(el) in names


def line_of(el: Element | None) -> int | None:
    """The source line of an element (None when unknown)."""
    line: object = el.sourceline if el is not None else None
    return line if isinstance(line, int) else None


def text_of(el: Element | None) -> str:
    """The stripped text of an element, '' when absent."""
    return (el.text or "").strip() if el is not None else ""


def spiff_ext(el: Element, name: str) -> Element | None:
    """The spiffworkflow extension element `name` directly under el's extensionElements."""
    found = el.find(f"bpmn:extensionElements/spiffworkflow:{name}", NS)
    return found


def spiff_properties(el: Element) -> dict[str, str]:
    """The spiffworkflow:property name/value pairs of an element."""
    props = el.findall("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)
    return {p.get("name", ""): p.get("value", "") for p in props}


@dataclass
class Doc:
    """One parsed BPMN file being linted, with a message sink."""

    file: str
    root: Element
    messages: list[LintMessage] = field(default_factory=list)
    refused: frozenset[str] = frozenset()

    def add(
        self, el: Element | None, severity: Severity, text: str, hint: str = "", at: Element | None = None
    ) -> None:
        """Record a message about `el` (None: the file), on the line of `at` when given."""
        line = line_of(at if at is not None else el) if el is not None else 1
        element_id = el.get("id") if el is not None else None
        name = el.get("name") if el is not None else None
        if name:
            name = " ".join(name.split())
        self.messages.append(LintMessage(self.file, line, element_id, name, severity, text, hint))

    @property
    def govflow(self) -> bool:
        """Whether this is a govflow diagram: designer-written spiffworkflow extensions, no foreign dialect.

        The properties the dialect importer adds (IMPORTER_PROPERTIES) do not make an imported diagram a
        govflow one.
        """
        nsmap = set(self.root.nsmap.values())
        if any(ns in nsmap for ns in THIRD_PARTY_NS):
            return False
        for el in self.root.iter(f"{{{SPIFF_NS}}}*"):
            if local(el) == "properties":
                continue
            if local(el) == "property" and el.get("name") in IMPORTER_PROPERTIES:
                continue
            return True
        return False

    def processes(self) -> list[Element]:
        """The bpmn:process elements of the document."""
        return list(self.root.iterfind("bpmn:process", NS))

    def executable(self) -> list[Element]:
        """Processes SpiffWorkflow will run (isExecutable absent or true)."""
        return [p for p in self.processes() if p.get("isExecutable", "true").strip() == "true"]

    def flow_nodes(self, executable_only: bool = True) -> Iterator[Element]:
        """Every flow node in (executable) processes, at any depth."""
        for proc in self.executable() if executable_only else self.processes():
            for el in proc.iter(f"{{{BPMN_NS}}}*"):
                if local(el) in FLOW_NODES:
                    yield el

    def in_executable(self, tag: str) -> Iterator[Element]:
        """Every BPMN element `tag` inside executable processes."""
        for proc in self.executable():
            yield from proc.iter(bpmn(tag))
