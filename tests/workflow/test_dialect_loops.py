"""Open-ended loop tasks: the handler decides each time whether to do the step once more."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

from app.workflow import SpecRef, WorkflowEngine, compile_process
from app.workflow.dialect import translate
from app.workflow.lint import prepare
from app.workflow.lint.model import NS, spiff_properties
from app.workflow.simulate import simulate
from app.workflow.xmlsafe import parse_xml

T0 = datetime(2026, 5, 6, 9, 0, tzinfo=timezone(timedelta(hours=8)))


def diagram(
    loop: str = '<standardLoopCharacteristics testBefore="false" />', kind: str = "manualTask"
) -> str:
    return f"""<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs">
  <process id="p" isExecutable="true">
    <startEvent id="s" />
    <sequenceFlow id="f1" sourceRef="s" targetRef="clarify" />
    <{kind} id="clarify" name="补充说明">
      {loop}
    </{kind}>
    <sequenceFlow id="f2" sourceRef="clarify" targetRef="after" />
    <userTask id="after" name="审核" />
    <sequenceFlow id="f3" sourceRef="after" targetRef="e" />
    <endEvent id="e" />
  </process>
</definitions>
"""


def test_open_loop_gets_a_repeat_choice_and_a_condition() -> None:
    tree = parse_xml(diagram().encode(), "x.bpmn")
    result = translate(tree, "x.bpmn")
    task = tree.getroot().find(".//bpmn:manualTask[@id='clarify']", NS)
    assert task is not None
    choices = json.loads(spiff_properties(task)["routeChoices"])
    assert [c["value"] for c in choices] == ["clarify:done", "clarify:repeat"]
    assert task.findtext("bpmn:standardLoopCharacteristics/bpmn:loopCondition", namespaces=NS) == (
        "next_step == 'clarify:repeat'"
    )
    note = next(m for m in result.notes if m.element_id == "clarify")
    assert "再办理一次" in note.text or "是否再办理一次" in note.text
    assert not prepare({"x.bpmn": diagram().encode()}, {}).errors
    again = translate(tree, "x.bpmn")  # idempotent
    assert not [m for m in again.notes if m.element_id == "clarify"]


def test_loop_with_a_condition_or_test_before_is_left_alone() -> None:
    kept = diagram('<standardLoopCharacteristics loopMaximum="3" />')
    tree = parse_xml(kept.encode(), "x.bpmn")
    translate(tree, "x.bpmn")
    task = tree.getroot().find(".//bpmn:manualTask[@id='clarify']", NS)
    assert task is not None and "routeChoices" not in spiff_properties(task)
    before = diagram('<standardLoopCharacteristics testBefore="true" />')
    errors = [m for m in prepare({"x.bpmn": before.encode()}, {}).errors if m.element_id == "clarify"]
    assert errors and "loopCondition" in errors[0].text


def test_script_loop_is_not_a_choice() -> None:
    text = diagram("<standardLoopCharacteristics /><script>x = 1</script>", kind="scriptTask")
    errors = [m for m in prepare({"x.bpmn": text.encode()}, {}).errors if m.element_id == "clarify"]
    assert errors


def test_engine_repeats_while_the_handler_says_so() -> None:
    compiled = compile_process({"x.bpmn": diagram().encode()}, {})
    spec = SpecRef(compiled.content_hash, compiled.spec_json)
    engine = WorkflowEngine()
    result = engine.start(spec, {}, T0)
    seen = []
    for choice in ("clarify:repeat", "clarify:repeat", "clarify:done"):
        (task,) = result.ready
        seen.append(task.bpmn_id)
        result = engine.complete(spec, result.state, task.task_id, {"next_step": choice}, T0)
    (task,) = result.ready
    assert seen == ["clarify"] * 3 and task.bpmn_id == "after"


def test_simulator_does_the_step_once_by_default() -> None:
    report = simulate({"x.bpmn": diagram().encode()}, {}, today=date(2026, 3, 2))
    assert report.ok and [s.bpmn_id for s in report.steps] == ["clarify", "after"]
