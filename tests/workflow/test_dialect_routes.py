"""办理人选择下一步: unconditioned exclusive exits right after a human task become a route choice."""

from __future__ import annotations

import json
from datetime import date

from lxml import etree

from app.workflow.dialect import translate
from app.workflow.lint import prepare
from app.workflow.lint.model import NS, spiff_properties
from app.workflow.simulate import simulate
from app.workflow.xmlsafe import parse_xml

HEAD = '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs">\n'


def diagram(before_gateway: str = '<userTask id="review" name="审核" />', default: str = "") -> str:
    return (
        HEAD
        + f"""  <process id="p" isExecutable="true">
    <startEvent id="s" />
    <sequenceFlow id="f1" sourceRef="s" targetRef="review" />
    {before_gateway}
    <sequenceFlow id="f2" sourceRef="review" targetRef="gw" />
    <exclusiveGateway id="gw" name="下一步"{default} />
    <sequenceFlow id="to_leader" name="报分管领导" sourceRef="gw" targetRef="leader" />
    <sequenceFlow id="to_back" sourceRef="gw" targetRef="back" />
    <sequenceFlow id="to_end" sourceRef="gw" targetRef="e" />
    <userTask id="leader" name="领导审批" />
    <userTask id="back" name="退回补正" />
    <sequenceFlow id="f3" sourceRef="leader" targetRef="e" />
    <sequenceFlow id="f4" sourceRef="back" targetRef="e" />
    <endEvent id="e" name="办结" />
  </process>
</definitions>
"""
    )


def _translate(text: str):  # type: ignore[no-untyped-def]
    tree = parse_xml(text.encode(), "x.bpmn")
    lines = {e.get("id"): e.sourceline for e in tree.getroot().iter() if e.get("id")}
    result = translate(tree, "x.bpmn")
    assert {e.get("id"): e.sourceline for e in tree.getroot().iter() if e.get("id") in lines} == lines
    return tree.getroot(), result


def _condition(root: etree._Element, flow_id: str) -> str | None:
    return root.findtext(f".//bpmn:sequenceFlow[@id='{flow_id}']/bpmn:conditionExpression", namespaces=NS)


def test_exits_get_next_step_conditions_and_the_task_gets_route_choices() -> None:
    root, result = _translate(diagram())
    assert _condition(root, "to_leader") == "next_step == 'to_leader'"
    assert _condition(root, "to_back") == "next_step == 'to_back'"
    review = root.find(".//bpmn:userTask[@id='review']", NS)
    choices = json.loads(spiff_properties(review)["routeChoices"])
    assert choices == [
        {"value": "to_leader", "label": "报分管领导"},  # the flow's name
        {"value": "to_back", "label": "退回补正"},  # else the target's name
        {"value": "to_end", "label": "办结"},
    ]
    note = next(m for m in result.notes if m.element_id == "gw")
    assert note.severity == "note" and "选择下一步" in note.text and note.line


def test_default_flow_stays_default() -> None:
    root, _ = _translate(diagram(default=' default="to_end"'))
    assert _condition(root, "to_end") is None
    review = root.find(".//bpmn:userTask[@id='review']", NS)
    values = [c["value"] for c in json.loads(spiff_properties(review)["routeChoices"])]
    assert values == ["to_leader", "to_back"]


def test_manual_task_may_choose_too() -> None:
    root, _ = _translate(diagram('<manualTask id="review" name="电话核实" />'))
    assert _condition(root, "to_back") == "next_step == 'to_back'"


def test_gateway_not_after_a_human_task_stays_an_error_naming_the_rule() -> None:
    text = diagram('<scriptTask id="review"><script>x = 1</script></scriptTask>')
    root, result = _translate(text)
    assert _condition(root, "to_back") is None and not result.notes
    errors = [m for m in prepare({"x.bpmn": text.encode()}, {}).errors if m.element_id == "gw"]
    assert len(errors) == 3 and all("用户任务或人工任务" in m.hint for m in errors)


def test_multi_instance_or_forking_task_does_not_choose() -> None:
    looped = '<userTask id="review"><multiInstanceLoopCharacteristics /></userTask>'
    root, _ = _translate(diagram(looped))
    assert _condition(root, "to_back") is None
    forking = diagram().replace(
        '<endEvent id="e"', '<sequenceFlow id="fx" sourceRef="review" targetRef="e" />\n    <endEvent id="e"'
    )
    root, _ = _translate(forking)
    assert _condition(root, "to_back") is None


def test_inclusive_gateway_is_never_a_route_choice() -> None:
    root, _ = _translate(diagram().replace("exclusiveGateway", "inclusiveGateway"))
    assert _condition(root, "to_back") is None


def test_translation_is_idempotent() -> None:
    tree = parse_xml(diagram().encode(), "x.bpmn")
    translate(tree, "x.bpmn")
    assert [m for m in translate(tree, "x.bpmn").notes if m.element_id == "gw"] == []


def test_simulator_takes_the_first_choice_unless_decided() -> None:
    files = {"x.bpmn": diagram().encode()}
    first = simulate(files, {}, today=date(2026, 3, 2))
    assert first.ok and [s.bpmn_id for s in first.steps] == ["review", "leader"]
    chosen = simulate(files, {}, decisions={"review": {"next_step": "to_back"}}, today=date(2026, 3, 2))
    assert chosen.ok and [s.bpmn_id for s in chosen.steps] == ["review", "back"]
    ended = simulate(files, {}, decisions={"review": {"next_step": "to_end"}}, today=date(2026, 3, 2))
    assert ended.ok and ended.end_reached and [s.bpmn_id for s in ended.steps] == ["review"]


def chain(
    second_exit: str = '<sequenceFlow id="premium" name="加急" sourceRef="gw2" targetRef="fast" />',
) -> str:
    """审核 → 服务类型 (gw) → [退回 | 常规 → 服务级别 (gw2) → 标准 | 加急]."""
    return (
        HEAD
        + f"""  <process id="p" isExecutable="true">
    <startEvent id="s" />
    <sequenceFlow id="f1" sourceRef="s" targetRef="review" />
    <userTask id="review" name="审核" />
    <sequenceFlow id="f2" sourceRef="review" targetRef="gw" />
    <exclusiveGateway id="gw" name="服务类型" />
    <sequenceFlow id="to_back" name="退回" sourceRef="gw" targetRef="back" />
    <sequenceFlow id="regular" name="常规" sourceRef="gw" targetRef="gw2" />
    <exclusiveGateway id="gw2" name="服务级别" />
    <sequenceFlow id="standard" name="标准" sourceRef="gw2" targetRef="slow" />
    {second_exit}
    <userTask id="back" name="退回补正" />
    <userTask id="slow" name="标准处理" />
    <userTask id="fast" name="加急处理" />
    <sequenceFlow id="f3" sourceRef="back" targetRef="e" />
    <sequenceFlow id="f4" sourceRef="slow" targetRef="e" />
    <sequenceFlow id="f5" sourceRef="fast" targetRef="e" />
    <endEvent id="e" name="办结" />
  </process>
</definitions>
"""
    )


def test_chained_gateways_offer_the_final_destinations_as_one_choice() -> None:
    root, result = _translate(chain())
    review = root.find(".//bpmn:userTask[@id='review']", NS)
    assert json.loads(spiff_properties(review)["routeChoices"]) == [
        {"value": "to_back", "label": "退回"},
        {"value": "standard", "label": "常规 → 标准"},
        {"value": "premium", "label": "常规 → 加急"},
    ]
    assert _condition(root, "to_back") == "next_step == 'to_back'"
    assert _condition(root, "regular") == "next_step in ('standard', 'premium')"
    assert _condition(root, "standard") == "next_step == 'standard'"
    assert _condition(root, "premium") == "next_step == 'premium'"
    assert [m.element_id for m in result.notes if "选择下一步" in m.text] == ["gw"]
    assert prepare({"x.bpmn": chain().encode()}, {}).errors == ()


def test_simulator_follows_the_chain() -> None:
    files = {"x.bpmn": chain().encode()}
    first = simulate(files, {}, today=date(2026, 3, 2))
    assert first.ok and [s.bpmn_id for s in first.steps] == ["review", "back"]
    deep = simulate(files, {}, decisions={"review": {"next_step": "premium"}}, today=date(2026, 3, 2))
    assert deep.ok and deep.end_reached and [s.bpmn_id for s in deep.steps] == ["review", "fast"]


def test_nested_gateway_with_a_condition_is_not_part_of_the_chain() -> None:
    conditioned = (
        '<sequenceFlow id="premium" sourceRef="gw2" targetRef="fast">'
        "<conditionExpression>urgent == True</conditionExpression></sequenceFlow>"
    )
    root, _ = _translate(chain(conditioned))
    assert _condition(root, "regular") == "next_step == 'regular'"  # gw2 decides by itself
    assert _condition(root, "standard") is None
    errors = prepare({"x.bpmn": chain(conditioned).encode()}, {}).errors
    assert [m.element_id for m in errors] == ["gw2"]  # its unconditioned exit is still an error
