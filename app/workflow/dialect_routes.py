"""办理人选择下一步 (handler route choice) for exclusive gateways whose exits carry no conditions.

In many Chinese OA diagrams the person finishing a step decides where the case goes next, so the
gateway after the step has plain, unconditioned exits ("退回补正", "报分管领导", ...). govflow runs that
literally: when an **exclusive** gateway

- has two or more outgoing flows that are neither conditioned nor its default flow, and
- has exactly one incoming sequence flow, coming from a user task or manual task that is not
  multi-instance and whose only outgoing flow is that one,

each unconditioned exit gets the condition `next_step == '<flow id>'` (the default flow stays default)
and the task gets the spiffworkflow property `routeChoices`: a JSON list of
`{"value": <flow id>, "label": <flow name, else target name, else target id>}` in document order.
The web layer shows it as a required radio group named `next_step`; the dry run picks the first choice
unless told otherwise.

Chains of gateways (e.g. "服务类型" then "服务级别"): when an open exit leads to another exclusive gateway
that has that exit as its only incoming flow and two or more exits, none of them conditioned or default,
that gateway is not a choice of its own: the handler still picks **one** final destination, among the
leaves of the chain. The leaf flows are the choices (label "<exit label> → <leaf label>"); a leaf exit of
a nested gateway gets `next_step == '<leaf flow id>'`, and the exit leading into a nested gateway gets
`next_step in ('<leaf id>', ...)` listing the leaves behind it. So the task page, the stored data and the
dry run stay exactly as for a single gateway: one `next_step` radio group.

Every other unconditioned exclusive or inclusive exit stays a linter error (`app.workflow.lint.flows`),
whose hint names this rule.

Open-ended loop tasks get the same treatment: a user or manual task with `standardLoopCharacteristics`
but neither a `loopCondition` nor a `loopMaximum` (SpiffWorkflow refuses it; in the modeler it means
"repeat as often as needed") lets its handler decide, each time, whether to do it once more. The task
gets two route choices, "完成，进入下一步" (first, so the dry run finishes the loop) and "再办理一次", and the
loop the condition `next_step == '<task id>:repeat'`. With `testBefore="true"` the condition would be
read before anyone chose, so that case stays a linter error.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from lxml import etree

from app.workflow.dialect_tasks import add_property
from app.workflow.lint.model import NS, Element, bpmn, local, spiff_properties, text_of
from app.workflow.messages import Severity

__all__ = ["ROUTE_FIELD", "ROUTE_PROPERTY", "chooser_of", "translate_open_loops", "translate_routes"]

ROUTE_FIELD = "next_step"
ROUTE_PROPERTY = "routeChoices"
CHOOSERS = ("userTask", "manualTask")
CONTAINERS = ("subProcess", "transaction", "adHocSubProcess")

Say = Callable[[Element, Severity, str, str], None]


def _flows(container: Element) -> list[Element]:
    """The sequence flows directly inside a process or subprocess."""
    return list(container.iterfind("bpmn:sequenceFlow", NS))


def open_exits(gateway: Element, flows: list[Element]) -> list[Element]:
    """Outgoing flows of `gateway` with neither a condition nor the default mark."""
    default = gateway.get("default")
    return [
        f
        for f in flows
        if f.get("sourceRef") == gateway.get("id")
        and f.get("id") != default
        and not text_of(f.find("bpmn:conditionExpression", NS))
    ]


def chooser_of(gateway: Element, container: Element) -> Element | None:
    """The single human task directly before `gateway` whose handler may pick the route, else None."""
    flows = _flows(container)
    incoming = [f for f in flows if f.get("targetRef") == gateway.get("id")]
    if len(incoming) != 1:
        return None
    source_id = incoming[0].get("sourceRef")
    task = next((c for c in container if isinstance(c.tag, str) and c.get("id") == source_id), None)
    if task is None or local(task) not in CHOOSERS:
        return None
    if task.find("bpmn:multiInstanceLoopCharacteristics", NS) is not None:
        return None
    if ROUTE_PROPERTY in spiff_properties(task):
        return None
    outgoing = [f for f in flows if f.get("sourceRef") == source_id]
    return task if len(outgoing) == 1 else None


def _label(flow: Element, container: Element) -> str:
    """What the handler sees for one choice: the flow's name, else its target's name, else the target id."""
    name = " ".join((flow.get("name") or "").split())
    if name:
        return name
    target_id = flow.get("targetRef", "")
    target = next((c for c in container if isinstance(c.tag, str) and c.get("id") == target_id), None)
    target_name = " ".join(((target.get("name") if target is not None else None) or "").split())
    return target_name or target_id


def _condition(flow: Element, leaves: list[str]) -> None:
    """Give an unconditioned flow `next_step == '<leaf>'` or `next_step in (...)`, on its own lines."""
    cond = flow.find("bpmn:conditionExpression", NS)
    if cond is None:
        cond = etree.SubElement(flow, bpmn("conditionExpression"))
    newlines = (cond.text or "").count("\n")
    test = f"== {leaves[0]!r}" if len(leaves) == 1 else f"in ({', '.join(repr(v) for v in leaves)})"
    cond.text = f"{ROUTE_FIELD} {test}" + "\n" * newlines


def _nested(flow: Element, container: Element, flows: list[Element]) -> Element | None:
    """The exclusive gateway `flow` leads into when it continues the chain (see module docstring)."""
    target_id = flow.get("targetRef")
    gateway = next((c for c in container if isinstance(c.tag, str) and c.get("id") == target_id), None)
    if gateway is None or local(gateway) != "exclusiveGateway" or gateway.get("default"):
        return None
    if [f for f in flows if f.get("targetRef") == target_id] != [flow]:
        return None
    outgoing = [f for f in flows if f.get("sourceRef") == target_id]
    exits = open_exits(gateway, flows)
    return gateway if len(exits) >= 2 and len(exits) == len(outgoing) else None


def _leaves(
    flow: Element, container: Element, flows: list[Element], seen: set[str], prefix: str = ""
) -> list[tuple[Element, str, list[Element]]]:
    """(leaf flow, label, flows to condition on the way) for one open exit, following chained gateways."""
    label = prefix + _label(flow, container)
    gateway = _nested(flow, container, flows)
    if gateway is None or gateway.get("id", "") in seen:
        return [(flow, label, [])]
    seen.add(gateway.get("id", ""))
    found: list[tuple[Element, str, list[Element]]] = []
    for exit_flow in open_exits(gateway, flows):
        for leaf, leaf_label, path in _leaves(exit_flow, container, flows, seen, f"{label} → "):
            found.append((leaf, leaf_label, [flow, *path]))
    return found


def _translate_gateway(gateway: Element, container: Element, say: Say) -> None:
    """Apply the route-choice rule to one exclusive gateway (and the chain behind it) when it qualifies."""
    flows = _flows(container)
    exits = open_exits(gateway, flows)
    task = chooser_of(gateway, container) if len(exits) >= 2 else None
    if task is None:
        return
    seen = {gateway.get("id", "")}
    leaves = [leaf for flow in exits for leaf in _leaves(flow, container, flows, seen)]
    choices = [{"value": leaf.get("id", ""), "label": label} for leaf, label, _ in leaves]
    behind: dict[int, list[str]] = {}
    order: list[Element] = []
    for leaf, _, path in leaves:
        for flow in [*path, leaf]:
            if id(flow) not in behind:
                order.append(flow)
            behind.setdefault(id(flow), []).append(leaf.get("id", ""))
    for flow in order:
        _condition(flow, behind[id(flow)])
    add_property(task, ROUTE_PROPERTY, json.dumps(choices, ensure_ascii=False))
    labels = "、".join(c["label"] for c in choices)
    who = " ".join((task.get("name") or task.get("id") or "").split())
    say(
        gateway,
        "note",
        f"出口没有条件：由“{who}”的办理人"
        f"选择下一步 ({labels}) (handler route choice: exits get {ROUTE_FIELD} conditions)",
        f"办理时必须选择 {ROUTE_FIELD}；如应自动判断，请给出口写条件 (or write conditions on the exits)",
    )


def translate_routes(proc: Element, say: Say) -> None:
    """Apply the route-choice rule to every exclusive gateway of a process and its subprocesses."""
    containers = [proc, *(el for tag in CONTAINERS for el in proc.iter(bpmn(tag)))]
    for container in containers:
        for gateway in container.iterfind("bpmn:exclusiveGateway", NS):
            _translate_gateway(gateway, container, say)


def _translate_loop(loop: Element, say: Say) -> None:
    """Apply the open-loop rule (module docstring) to one standardLoopCharacteristics when it qualifies."""
    task = loop.getparent()
    if task is None or local(task) not in CHOOSERS or ROUTE_PROPERTY in spiff_properties(task):
        return
    if text_of(loop.find("bpmn:loopCondition", NS)) or loop.get("loopMaximum", "").strip():
        return
    if loop.get("testBefore", "false").strip() == "true":
        return
    task_id = task.get("id", "")
    done, repeat = f"{task_id}:done", f"{task_id}:repeat"
    choices = [{"value": done, "label": "完成，进入下一步"}, {"value": repeat, "label": "再办理一次"}]
    cond = loop.find("bpmn:loopCondition", NS)
    if cond is None:
        cond = etree.SubElement(loop, bpmn("loopCondition"))
    cond.text = f"{ROUTE_FIELD} == {repeat!r}"
    add_property(task, ROUTE_PROPERTY, json.dumps(choices, ensure_ascii=False))
    say(
        task,
        "note",
        f"循环任务没有循环条件：由办理人每次选择是否再办理一次 (open-ended loop: the handler decides, "
        f"{ROUTE_FIELD} == {repeat!r} repeats)",
        "如应自动判断，请写循环条件或 loopMaximum (or write a loopCondition or loopMaximum)",
    )


def translate_open_loops(proc: Element, say: Say) -> None:
    """Apply the open-loop rule to every standard loop task of a process and its subprocesses."""
    for loop in proc.iter(bpmn("standardLoopCharacteristics")):
        _translate_loop(loop, say)
