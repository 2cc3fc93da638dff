"""Document-level checks: is it BPMN, is there an executable process, ids, references, supported elements."""

from __future__ import annotations

from lxml import etree

from app.workflow.lint.model import (
    ACTIVITIES,
    BPMN_NS,
    BPMNDI_NS,
    FLOW_NODES,
    NS,
    Doc,
    Element,
    bpmn,
    is_bpmn,
    local,
)

EXECUTABLE_HINT = (
    '在建模器中勾选“可执行”，或在 <process> 上设置 isExecutable="true" '
    '(mark the process executable in the modeler or set isExecutable="true")'
)
UNSUPPORTED_EVENTS = {
    "compensateEventDefinition": "补偿事件 (compensation event)",
    "linkEventDefinition": "链接事件 (link event)",
}
NONE_START_DEFS = ("errorEventDefinition", "escalationEventDefinition", "compensateEventDefinition")
PROCESS_CHILDREN = FLOW_NODES | {
    "sequenceFlow",
    "laneSet",
    "dataObject",
    "dataObjectReference",
    "dataStoreReference",
    "textAnnotation",
    "association",
    "group",
    "ioSpecification",
    "property",
    "documentation",
    "extensionElements",
    "ioBinding",
    "auditing",
    "monitoring",
    "supports",
    "resourceRole",
    "performer",
    "humanPerformer",
    "potentialOwner",
    "correlationSubscription",
}


def check_document(doc: Doc) -> bool:
    """Root, namespace and process checks; False when the file is not a usable BPMN document."""
    root = doc.root
    if local(root) != "definitions" or etree.QName(root).namespace != BPMN_NS:
        missing_ns = local(root) == "definitions"
        doc.add(
            root,
            "error",
            "缺少 BPMN 命名空间 (missing BPMN namespace on <definitions>)"
            if missing_ns
            else f"不是 BPMN 文档 (not a BPMN document: root element is <{local(root) or root.tag}>)",
            f'根元素必须是 BPMN definitions (declare xmlns="{BPMN_NS}" or re-export from the modeler)',
        )
        return False
    for child in root:
        if isinstance(child.tag, str) and etree.QName(child).namespace not in (BPMN_NS, BPMNDI_NS):
            doc.add(child, "warning", f"未知的顶层元素 (unexpected top-level element <{local(child)}>)")
    if not doc.processes():
        doc.add(
            root, "error", "文件中没有流程 (no process in file)", "用建模器画一个流程后再保存 (add a process)"
        )
        return False
    if not doc.executable():
        doc.add(doc.processes()[0], "error", "没有可执行的流程 (no executable process)", EXECUTABLE_HINT)
    return True


def check_ids(doc: Doc) -> None:
    """Every id in the document is unique."""
    seen: dict[str, Element] = {}
    for el in doc.root.iter():
        if not isinstance(el.tag, str) or etree.QName(el).namespace not in (BPMN_NS, BPMNDI_NS):
            continue
        ident = el.get("id")
        if ident is None:
            continue
        if ident in seen:
            first = seen[ident]
            doc.add(
                el,
                "error",
                f"重复的 id (duplicate id '{ident}', first used on line {first.sourceline})",
                "在建模器中给其中一个元素改 id (give one of the elements a new id)",
            )
        else:
            seen[ident] = el


def _node_ids(doc: Doc) -> dict[str, Element]:
    """Flow nodes of all processes by id."""
    return {el.get("id", ""): el for el in doc.flow_nodes(executable_only=False)}


def check_references(doc: Doc) -> None:
    """Sequence flows and boundary events point at existing elements."""
    nodes = _node_ids(doc)
    for proc in doc.processes():
        for flow in proc.iter(bpmn("sequenceFlow")):
            for attr in ("sourceRef", "targetRef"):
                ref = flow.get(attr, "")
                if ref not in nodes:
                    doc.add(
                        flow,
                        "error",
                        f"顺序流的 {attr} 指向不存在的元素 (sequence flow {attr} '{ref}' does not exist)",
                        "在建模器中重新连线 (reconnect the flow in the modeler)",
                    )
        for event in proc.iter(bpmn("boundaryEvent")):
            ref = event.get("attachedToRef", "")
            target = nodes.get(ref)
            if target is None or local(target) not in ACTIVITIES:
                doc.add(
                    event,
                    "error",
                    f"边界事件附着的活动不存在 (boundary event attachedToRef '{ref}' is not an activity)",
                    "把边界事件拖到一个任务的边框上 (attach the event to a task in the modeler)",
                )


def check_supported(doc: Doc) -> None:
    """Elements SpiffWorkflow 3.2 cannot execute are errors; unknown process content is a warning."""
    for el in doc.flow_nodes():
        kind = local(el)
        if kind == "subProcess" and el.get("triggeredByEvent", "").strip() == "true":
            doc.add(
                el,
                "warning",
                "事件子流程：主流程到达结束事件后，案件仍保持办理中，直到该事件子流程被触发并办完 "
                "(SpiffWorkflow 3.2 keeps the case open while an event subprocess can still start)",
                "主流程结束即应办结时，改用附着在任务上的边界事件 (use a boundary event on the task instead)",
            )
        if kind == "complexGateway":
            doc.add(
                el,
                "error",
                "不支持复杂网关 (complexGateway is not supported)",
                "改用排他/包容/并行网关 (use an exclusive, inclusive or parallel gateway)",
            )
        if (
            kind == "businessRuleTask"
            and el.find("bpmn:extensionElements/spiffworkflow:calledDecisionId", NS) is None
        ):
            doc.add(
                el,
                "error",
                "不支持没有 DMN 决策的业务规则任务 (businessRuleTask without spiffworkflow:calledDecisionId)",
                "改用带条件的排他网关或脚本任务 (use a gateway with conditions or a script task)",
            )
        for definition, label in UNSUPPORTED_EVENTS.items():
            if el.find(f"bpmn:{definition}", NS) is not None:
                doc.add(
                    el, "error", f"不支持{label} ({definition} is not supported)", _event_hint(definition)
                )
        if kind == "startEvent" and any(el.find(f"bpmn:{d}", NS) is not None for d in NONE_START_DEFS):
            doc.add(
                el,
                "error",
                "不支持错误/升级类型的开始事件 (error/escalation start events are not supported)",
                "改用边界事件捕获错误 (catch the error with a boundary event instead)",
            )
    for proc in doc.executable():
        if proc.find("bpmn:startEvent", NS) is None:
            doc.add(
                proc,
                "error",
                "流程没有开始事件 (process without a start event)",
                "加一个开始事件 (add a start event)",
            )
        for el in proc.iter(f"{{{BPMN_NS}}}*"):
            parent = el.getparent()
            if parent is None or local(parent) not in ("process", "subProcess", "transaction"):
                continue
            if local(el) not in PROCESS_CHILDREN:
                doc.add(el, "warning", f"未知的流程元素 (unexpected element <{local(el)}> in a process)")


def _event_hint(definition: str) -> str:
    """What to do instead of an unsupported event definition."""
    if definition == "linkEventDefinition":
        return "用顺序流直接连接 (connect the two points with a sequence flow)"
    return "用显式的撤销任务代替补偿 (model the undo steps as ordinary tasks)"


def check_diagram(doc: Doc) -> None:
    """Every flow node and flow has a BPMNDI shape or edge, else the modeler cannot lay it out."""
    drawn = {el.get("bpmnElement") for el in doc.root.iter(f"{{{BPMNDI_NS}}}*")}
    for el in doc.flow_nodes():
        if el.get("id") not in drawn:
            doc.add(
                el,
                "warning",
                "缺少图形信息，在建模器中打不开 (no BPMNDI shape: will not open cleanly in a modeler)",
                "在建模器中打开并重新保存以生成布局 (open and re-save in the modeler to add a layout)",
            )


def is_event_subprocess(el: Element) -> bool:
    """Whether el is an event subprocess (triggered by an event, no sequence flows)."""
    return is_bpmn(el, "subProcess") and el.get("triggeredByEvent") == "true"
