"""Sequence-flow checks: dangling nodes, unguarded gateway exits and parallel joins that deadlock."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.workflow.lint.model import NS, Doc, Element, bpmn, local, text_of
from app.workflow.lint.structure import is_event_subprocess
from app.workflow.messages import Severity

CONTAINER_TAGS = ("process", "subProcess", "transaction", "adHocSubProcess")
EXCLUSIVE_SPLITS = ("exclusiveGateway", "eventBasedGateway")
DEFAULT_HINT = "给该顺序流写条件，或把它设为默认流 (add a condition or mark the flow as default)"
ROUTE_HINT = (
    "给该顺序流写条件，或把它设为默认流；若要由办理人选择下一步，让网关只有一条入口、"
    "直接来自一个用户任务或人工任务（或来自这样一个网关的无条件出口） (add a condition or mark the "
    "flow as default; for a handler route choice the gateway needs a single incoming flow straight from "
    "a user or manual task, or from an unconditioned exit of such a gateway)"
)
GATEWAY_LABEL = {
    "exclusiveGateway": "排他网关 (exclusive gateway)",
    "inclusiveGateway": "包容网关 (inclusive gateway)",
}


@dataclass
class Graph:
    """The flow nodes and sequence flows directly inside one process or subprocess."""

    nodes: dict[str, Element] = field(default_factory=dict)
    succ: dict[str, list[str]] = field(default_factory=dict)
    pred: dict[str, list[str]] = field(default_factory=dict)
    out_flows: dict[str, list[Element]] = field(default_factory=dict)

    def edge(self, source: str, target: str) -> None:
        """Add a directed edge."""
        self.succ.setdefault(source, []).append(target)
        self.pred.setdefault(target, []).append(source)


def build_graph(container: Element) -> Graph:
    """Index one container's direct children; boundary events hang off their activity."""
    graph = Graph()
    for child in container:
        if local(child) not in ("sequenceFlow", "laneSet") and child.get("id") and local(child) != "":
            graph.nodes[child.get("id", "")] = child
    for flow in container.iterfind("bpmn:sequenceFlow", NS):
        source, target = flow.get("sourceRef", ""), flow.get("targetRef", "")
        if source in graph.nodes and target in graph.nodes:
            graph.edge(source, target)
            graph.out_flows.setdefault(source, []).append(flow)
    for event in container.iterfind("bpmn:boundaryEvent", NS):
        if event.get("attachedToRef", "") in graph.nodes:
            graph.edge(event.get("attachedToRef", ""), event.get("id", ""))
    return graph


def containers(doc: Doc) -> list[Element]:
    """Executable processes and every (sub)process container inside them."""
    found: list[Element] = []
    for proc in doc.executable():
        found.append(proc)
        found.extend(el for tag in CONTAINER_TAGS[1:] for el in proc.iter(bpmn(tag)))
    return found


def check_flows(doc: Doc) -> None:
    """Dangling nodes, start events with incoming flows, unguarded gateway exits, deadlocking joins."""
    for container in containers(doc):
        graph = build_graph(container)
        for node_id, node in graph.nodes.items():
            _check_node(doc, graph, node_id, node)
        _check_joins(doc, graph)


def _needs_outgoing(node: Element) -> bool:
    """Whether a flow node must have an outgoing sequence flow."""
    kind = local(node)
    if kind in ("endEvent", "sequenceFlow") or is_event_subprocess(node):
        return False
    if node.get("isForCompensation") == "true" or node.find("bpmn:linkEventDefinition", NS) is not None:
        return False
    return kind.endswith(("Task", "Event", "Gateway")) or kind in ("task", "subProcess", "callActivity")


def _check_node(doc: Doc, graph: Graph, node_id: str, node: Element) -> None:
    """Per-node flow checks."""
    kind = local(node)
    flows = graph.out_flows.get(node_id, [])
    if _needs_outgoing(node) and not flows:
        doc.add(
            node,
            "error",
            "没有出口顺序流 (flow node without outgoing sequence flow)"
            if not kind.endswith("Gateway")
            else "网关没有出口顺序流 (gateway without outgoing flow)",
            "连一条顺序流到下一步或结束事件 (connect it to the next step or an end event)",
        )
    if kind == "startEvent" and any(p for p in graph.pred.get(node_id, []) if local(graph.nodes[p]) != ""):
        doc.add(
            node,
            "error",
            "开始事件不能有入口顺序流 (start event with incoming flow)",
            "删除指向开始事件的连线",
        )
    if kind in GATEWAY_LABEL and len(flows) > 1:
        _check_conditions(doc, node, flows)


def _check_conditions(doc: Doc, gateway: Element, flows: list[Element]) -> None:
    """Every exit of a branching exclusive/inclusive gateway has a condition or is the default."""
    label = GATEWAY_LABEL[local(gateway)]
    default = gateway.get("default")
    flow_ids = {f.get("id") for f in flows}
    if default and default not in flow_ids:
        doc.add(
            gateway, "error", f"默认流 '{default}' 不是该网关的出口 (default flow is not an outgoing flow)"
        )
    for flow in flows:
        if flow.get("id") != default and not text_of(flow.find("bpmn:conditionExpression", NS)):
            doc.add(
                gateway,
                "error",
                f"{label}的出口 '{flow.get('id')}' 没有条件也不是默认流 (exit without condition or default)",
                ROUTE_HINT if local(gateway) == "exclusiveGateway" else DEFAULT_HINT,
            )
    if not default and local(gateway) == "exclusiveGateway":
        doc.add(
            gateway,
            "warning",
            "排他网关没有默认流 (exclusive gateway without default flow): 条件都不满足时案件会停住",
            "把“其他情况”的出口设为默认流 (mark one outgoing flow as the default)",
        )


def dominators(graph: Graph) -> dict[str, set[str]]:
    """Dominator sets from a virtual root joined to every node without predecessors."""
    names = list(graph.nodes)
    entries = [n for n in names if not graph.pred.get(n)]
    dom: dict[str, set[str]] = {n: set(names) for n in names}
    for n in entries:
        dom[n] = {n}
    changed = True
    while changed:
        changed = False
        for n in names:
            if n in entries:
                continue
            preds = [dom[p] for p in graph.pred.get(n, [])]
            new = {n} | (set.intersection(*preds) if preds else set())
            if new != dom[n]:
                dom[n], changed = new, True
    return dom


def split_kind(graph: Graph, node_id: str) -> str | None:
    """How a node splits the token: 'exclusive', 'inclusive', 'parallel' or None when it does not split."""
    node = graph.nodes[node_id]
    kind = local(node)
    if len(set(graph.succ.get(node_id, []))) < 2:
        return None
    if kind in EXCLUSIVE_SPLITS:
        return "exclusive"
    if kind == "inclusiveGateway":
        return "inclusive"
    boundary = [
        graph.nodes[s] for s in graph.succ.get(node_id, []) if local(graph.nodes[s]) == "boundaryEvent"
    ]
    if any(b.get("cancelActivity", "true") != "false" for b in boundary):
        return "exclusive"
    return "parallel"


def _check_joins(doc: Doc, graph: Graph) -> None:
    """A parallel join whose nearest common split is exclusive waits forever (deadlock)."""
    dom = dominators(graph)
    for node_id, node in graph.nodes.items():
        preds = set(graph.pred.get(node_id, []))
        if local(node) != "parallelGateway" or len(preds) < 2:
            continue
        common = set.intersection(*(dom[p] for p in preds)) - {node_id}
        for split in sorted(common, key=lambda n: len(dom[n]), reverse=True):
            kind = split_kind(graph, split)
            if kind is None:
                continue
            if kind != "parallel":
                _report_deadlock(doc, node, graph.nodes[split], kind)
            break


def _report_deadlock(doc: Doc, join: Element, split: Element, kind: str) -> None:
    """Report a parallel join fed by the branches of an exclusive (or inclusive) split."""
    severity: Severity = "error" if kind == "exclusive" else "warning"
    doc.add(
        join,
        severity,
        f"并行汇聚的各入口来自 '{split.get('id')}' 的{'互斥' if kind == 'exclusive' else '包容'}分支，"
        f"会永远等待 (parallel join fed by the branches of a {kind} split: deadlock)",
        "把汇聚网关改为排他网关，或在分支前加并行分支网关 (make the join exclusive or split in parallel)",
    )
