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
unless told otherwise. Every other unconditioned exclusive or inclusive exit stays a linter error
(`app.workflow.lint.flows`), whose hint names this rule.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from lxml import etree

from app.workflow.dialect_tasks import add_property
from app.workflow.lint.model import NS, Element, bpmn, local, spiff_properties, text_of
from app.workflow.messages import Severity

__all__ = ["ROUTE_FIELD", "ROUTE_PROPERTY", "chooser_of", "translate_routes"]

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


def _condition(flow: Element) -> None:
    """Give an unconditioned flow the condition `next_step == '<flow id>'` (on the flow's own lines)."""
    cond = flow.find("bpmn:conditionExpression", NS)
    if cond is None:
        cond = etree.SubElement(flow, bpmn("conditionExpression"))
    newlines = (cond.text or "").count("\n")
    cond.text = f"{ROUTE_FIELD} == {flow.get('id', '')!r}" + "\n" * newlines


def _translate_gateway(gateway: Element, container: Element, say: Say) -> None:
    """Apply the route-choice rule to one exclusive gateway when it qualifies."""
    exits = open_exits(gateway, _flows(container))
    task = chooser_of(gateway, container) if len(exits) >= 2 else None
    if task is None:
        return
    choices = [{"value": f.get("id", ""), "label": _label(f, container)} for f in exits]
    for flow in exits:
        _condition(flow)
    add_property(task, ROUTE_PROPERTY, json.dumps(choices, ensure_ascii=False))
    labels = "、".join(c["label"] for c in choices)
    say(
        gateway,
        "note",
        f"出口没有条件：由“{' '.join((task.get('name') or task.get('id', '')).split())}”的办理人"
        f"选择下一步 ({labels}) (handler route choice: exits get {ROUTE_FIELD} conditions)",
        f"办理时必须选择 {ROUTE_FIELD}；如应自动判断，请给出口写条件 (or write conditions on the exits)",
    )


def translate_routes(proc: Element, say: Say) -> None:
    """Apply the route-choice rule to every exclusive gateway of a process and its subprocesses."""
    containers = [proc, *(el for tag in CONTAINERS for el in proc.iter(bpmn(tag)))]
    for container in containers:
        for gateway in container.iterfind("bpmn:exclusiveGateway", NS):
            _translate_gateway(gateway, container, say)
