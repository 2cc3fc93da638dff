"""The publish-time linter: every check produces a located, actionable message."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.workflow.lint import lint_process, prepare
from app.workflow.messages import LintMessage
from app.workflow.xmlsafe import parse_xml

FIXTURES = Path(__file__).parent / "lint_fixtures"
LEAVE = (FIXTURES / "leave.bpmn").read_text(encoding="utf-8")
FORMS = {"leave.schema.json": (FIXTURES / "leave.schema.json").read_bytes()}


def known(name: str) -> bool:
    return name.split("@")[0] in ("clerk", "approver")


def lint(text: str = LEAVE, forms: dict[str, bytes] | None = None, lanes: bool = True) -> list[LintMessage]:
    return lint_process(
        {"leave.bpmn": text.encode()}, FORMS if forms is None else forms, known if lanes else None
    )


def errors(messages: list[LintMessage]) -> list[LintMessage]:
    return [m for m in messages if m.severity == "error"]


def only_error(messages: list[LintMessage]) -> LintMessage:
    found = errors(messages)
    assert len(found) == 1, [m.format() for m in found]
    return found[0]


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_clean_process_has_no_messages() -> None:
    assert lint() == []


def test_message_format_names_file_line_element_and_hint() -> None:
    text = LEAVE.replace(' default="f_no"', "")
    msg = only_error(lint(text))
    assert msg.element_id == "decide" and msg.element_name == "同意？"
    line = line_of(text, 'id="decide"')
    assert msg.format().startswith(f"leave.bpmn:{line}: decide (同意？): ")
    assert " — " in msg.format()


def test_not_bpmn_and_missing_namespace() -> None:
    (msg,) = lint_process({"x.bpmn": b"<html/>"}, {})
    assert "not a BPMN document" in msg.text
    (msg,) = lint_process({"x.bpmn": b"<definitions><process id='p'/></definitions>"}, {})
    assert "missing BPMN namespace" in msg.text and msg.line == 1


def test_non_executable_process_is_rejected_with_hint() -> None:
    msg = only_error(lint(LEAVE.replace('isExecutable="true"', 'isExecutable="false"')))
    assert "no executable process" in msg.text and "isExecutable" in msg.hint
    assert msg.element_id == "leave"


def test_duplicate_ids_and_dangling_references() -> None:
    text = LEAVE.replace('<bpmn:endEvent id="refused" />', '<bpmn:endEvent id="done" />')
    found = errors(lint(text))
    assert any("duplicate id 'done'" in m.text for m in found)
    assert any("targetRef 'refused'" in m.text and m.element_id == "f_no" for m in found)


def test_missing_start_event_and_boundary_attach() -> None:
    text = LEAVE.replace('<bpmn:startEvent id="start" />', '<bpmn:task id="start" />')
    text = text.replace(
        '<bpmn:endEvent id="refused" />',
        '<bpmn:endEvent id="refused" /><bpmn:boundaryEvent id="b" attachedToRef="nope">'
        '<bpmn:timerEventDefinition><bpmn:timeDuration>"P1D"</bpmn:timeDuration></bpmn:timerEventDefinition>'
        "</bpmn:boundaryEvent>",
    )
    texts = [m.text for m in errors(lint(text, lanes=False))]
    assert any("without a start event" in t for t in texts)
    assert any("attachedToRef 'nope'" in t for t in texts)


def test_gateway_without_outgoing_and_task_dead_end() -> None:
    text = LEAVE.replace('<bpmn:sequenceFlow id="f3" sourceRef="approve" targetRef="decide" />', "")
    found = errors(lint(text))
    assert [m.element_id for m in found] == ["approve"]
    assert "without outgoing" in found[0].text


def test_unguarded_exclusive_exit() -> None:
    msg = only_error(lint(LEAVE.replace(' default="f_no"', "")))
    assert "f_no" in msg.text and "default" in msg.hint


DEADLOCK = """
    <bpmn:startEvent id="s" />
    <bpmn:sequenceFlow id="a" sourceRef="s" targetRef="x" />
    <bpmn:exclusiveGateway id="x" default="c" />
    <bpmn:sequenceFlow id="b" sourceRef="x" targetRef="t1">
      <bpmn:conditionExpression>n &gt; 1</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="c" sourceRef="x" targetRef="t2" />
    <bpmn:task id="t1" /><bpmn:task id="t2" />
    <bpmn:sequenceFlow id="d" sourceRef="t1" targetRef="join" />
    <bpmn:sequenceFlow id="e" sourceRef="t2" targetRef="join" />
    <bpmn:parallelGateway id="join" />
    <bpmn:sequenceFlow id="f" sourceRef="join" targetRef="end" />
    <bpmn:endEvent id="end" />
"""


def _process(body: str) -> str:
    return (
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs">'
        f'<bpmn:process id="p" isExecutable="true">{body}</bpmn:process></bpmn:definitions>'
    )


def test_parallel_join_after_exclusive_split_is_a_deadlock() -> None:
    found = errors(lint(_process(DEADLOCK)))
    assert [(m.element_id, "deadlock" in m.text) for m in found] == [("join", True)]
    assert "'x'" in found[0].text


def test_parallel_join_after_parallel_split_is_fine() -> None:
    body = DEADLOCK.replace('<bpmn:exclusiveGateway id="x" default="c" />', '<bpmn:parallelGateway id="x" />')
    body = body.replace("<bpmn:conditionExpression>n &gt; 1</bpmn:conditionExpression>", "")
    assert errors(lint(_process(body))) == []


def test_parallel_join_nested_inside_exclusive_branch_is_fine() -> None:
    body = DEADLOCK.replace('targetRef="t1">', 'targetRef="p1">').replace(
        '<bpmn:task id="t1" />',
        '<bpmn:parallelGateway id="p1" /><bpmn:sequenceFlow id="p1a" sourceRef="p1" targetRef="t1" />'
        '<bpmn:sequenceFlow id="p1b" sourceRef="p1" targetRef="t3" />'
        '<bpmn:task id="t1" /><bpmn:task id="t3" />'
        '<bpmn:sequenceFlow id="t3j" sourceRef="t3" targetRef="join" />',
    )
    body = body.replace('<bpmn:sequenceFlow id="e" sourceRef="t2" targetRef="join" />', "")
    body = body.replace('<bpmn:task id="t2" />', '<bpmn:endEvent id="t2" />')
    assert errors(lint(_process(body))) == []


@pytest.mark.parametrize(
    ("timer", "expected"),
    [
        ('"P3D"', None),
        ("P3D", None),
        ("PT4H", None),
        ("__import__('os')", "sandbox"),
        ("0 0 * * * ?", "cron"),
    ],
)
def test_timer_expressions(timer: str, expected: str | None) -> None:
    body = DEADLOCK.replace(
        '<bpmn:task id="t2" />',
        f'<bpmn:task id="t2" /><bpmn:boundaryEvent id="tm" attachedToRef="t2"><bpmn:timerEventDefinition>'
        f"<bpmn:timeDuration>{timer}</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
        '<bpmn:sequenceFlow id="tme" sourceRef="tm" targetRef="end" />',
    ).replace("parallelGateway", "exclusiveGateway")
    messages = lint(_process(body))
    found = [m for m in errors(messages) if m.element_id == "tm"]
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1 and expected in found[0].text
    if timer in ("P3D", "PT4H"):
        assert any(m.severity == "note" and "quoted" in m.text for m in messages)


def test_linter_alone_rejects_unquoted_iso_timer() -> None:
    body = DEADLOCK.replace(
        '<bpmn:task id="t2" />',
        '<bpmn:intermediateCatchEvent id="t2"><bpmn:timerEventDefinition><bpmn:timeDuration>P3D'
        "</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>",
    ).replace("parallelGateway", "exclusiveGateway")
    from app.workflow.lint import lint_tree

    tree = parse_xml(_process(body).encode(), "t.bpmn")
    found = errors(lint_tree("t.bpmn", tree, {}))
    assert [m.element_id for m in found] == ["t2"] and "unquoted ISO 8601" in found[0].text


@pytest.mark.parametrize(
    "condition",
    [
        "__import__('os').system('id')",
        "().__class__.__base__.__subclasses__()",
        "approved ==",
        "open('/etc/passwd')",
    ],
)
def test_unsafe_or_invalid_conditions_are_errors(condition: str) -> None:
    cond = condition.replace("'", "&apos;")
    msg = only_error(lint(LEAVE.replace("approved == True", cond)))
    assert msg.element_id == "f_yes" and "sandbox" in msg.text
    assert msg.line == line_of(LEAVE, "approved == True")


def test_scripts_prescripts_and_multi_instance_are_checked() -> None:
    text = LEAVE.replace(
        "<spiffworkflow:formJsonSchemaFilename>leave.schema.json</spiffworkflow:formJsonSchemaFilename>\n"
        "        <spiffworkflow:properties>",
        "<spiffworkflow:formJsonSchemaFilename>leave.schema.json</spiffworkflow:formJsonSchemaFilename>\n"
        "        <spiffworkflow:preScript>import os</spiffworkflow:preScript><spiffworkflow:properties>",
    ).replace(
        '<bpmn:userTask id="apply" name="申请">',
        '<bpmn:userTask id="apply" name="申请"><bpmn:multiInstanceLoopCharacteristics>'
        "<bpmn:loopCardinality>x._y</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>",
    )
    found = {m.element_id: m.text for m in errors(lint(text))}
    assert set(found) == {"apply", "approve"}
    assert "loopCardinality" in found["apply"] and "preScript" in found["approve"]


def test_forms_missing_broken_and_invalid_schema() -> None:
    missing = errors(lint(forms={}))
    assert [m.element_id for m in missing] == ["apply", "approve"]
    assert "form file not found" in missing[0].text
    broken = {"leave.schema.json": (FIXTURES / "broken.schema.json").read_bytes()}
    found = errors(lint(forms=broken))
    assert {m.file for m in found} == {"leave.schema.json"} and found[0].line == 4
    bad = {"leave.schema.json": b'{"type": "objekt"}'}
    assert all("invalid JSON Schema" in m.text for m in errors(lint(forms=bad)))


def test_user_task_without_form_error_in_govflow_warning_in_imports() -> None:
    no_form = LEAVE.replace(
        "<bpmn:extensionElements>\n        <spiffworkflow:formJsonSchemaFilename>leave.schema.json"
        "</spiffworkflow:formJsonSchemaFilename>\n      </bpmn:extensionElements>",
        "",
    )
    assert only_error(lint(no_form)).element_id == "apply"
    imported = no_form.replace('id="defs"', 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs"')
    messages = lint(imported)
    assert errors(messages) == []
    assert any(m.severity == "warning" and m.element_id == "apply" for m in messages)


def test_unknown_lane_lists_roles_and_unplaced_task_warns() -> None:
    msg = only_error(lint(LEAVE.replace('name="approver@market"', 'name="boss"')))
    assert msg.element_id == "lane_approver" and "clerk" in msg.hint
    text = LEAVE.replace("<bpmn:flowNodeRef>approve</bpmn:flowNodeRef>", "")
    assert any(m.severity == "warning" and m.element_id == "approve" for m in lint(text))


def test_unsupported_elements() -> None:
    body = DEADLOCK.replace("parallelGateway", "complexGateway")
    found = errors(lint(_process(body)))
    assert any("complexGateway is not supported" in m.text for m in found)
    body = DEADLOCK.replace(
        '<bpmn:task id="t2" />', '<bpmn:businessRuleTask id="t2" implementation="other" />'
    )
    assert any(m.element_id == "t2" for m in errors(lint(_process(body))))


def test_missing_diagram_warns() -> None:
    messages = lint(_process(DEADLOCK.replace("parallelGateway", "exclusiveGateway")))
    assert any("modeler" in m.text for m in messages if m.severity == "warning")


def test_prepare_keeps_line_numbers() -> None:
    text = LEAVE.replace("approved == True", "${approved}").replace(
        'id="defs"', 'xmlns:camunda="x" id="defs"'
    )
    prepared = prepare({"leave.bpmn": text.encode()}, FORMS)
    out = parse_xml(prepared.files["leave.bpmn"], "leave.bpmn").getroot()
    before = parse_xml(text.encode(), "leave.bpmn").getroot()
    assert [e.sourceline for e in out.iter()] == [e.sourceline for e in before.iter()]
    assert prepared.errors == ()


def test_loop_task_without_condition_or_maximum_is_located() -> None:
    # testBefore="true": the condition is read before anyone chose, so no handler choice (dialect_routes)
    text = (
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">\n'
        '<process id="p" isExecutable="true"><startEvent id="s" />\n'
        '<sequenceFlow id="f1" sourceRef="s" targetRef="t" /><manualTask id="t" name="补正">\n'
        '<standardLoopCharacteristics testBefore="true" /></manualTask>\n'
        '<sequenceFlow id="f2" sourceRef="t" targetRef="e" /><endEvent id="e" /></process></definitions>\n'
    )
    (msg,) = prepare({"x.bpmn": text.encode()}, {}).errors
    assert (msg.element_id, msg.line) == ("t", 4) and "loopCondition" in msg.text
    bounded = text.replace('testBefore="true"', 'loopMaximum="2"')
    assert prepare({"x.bpmn": bounded.encode()}, {}).errors == ()


def test_several_startable_processes_are_located() -> None:
    text = (
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">\n'
        '<process id="a" isExecutable="true"><startEvent id="s1" /></process>\n'
        '<process id="b" name="IT" isExecutable="true"><startEvent id="s2" /></process>\n'
        '<process id="c" isExecutable="false"><startEvent id="s3" /></process>\n'
        "</definitions>\n"
    )
    found = [m for m in prepare({"x.bpmn": text.encode()}, {}).errors if "several executable" in m.text]
    assert [(m.element_id, m.line) for m in found] == [("b", 3)] and "a, b" in found[0].text
    one = text.replace('id="b" name="IT" isExecutable="true"', 'id="b" name="IT" isExecutable="false"')
    assert not [m for m in prepare({"x.bpmn": one.encode()}, {}).errors if "several executable" in m.text]


def test_multi_instance_without_cardinality_or_collection_is_located() -> None:
    text = (
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">\n'
        '<process id="p" isExecutable="true"><startEvent id="s" />\n'
        '<sequenceFlow id="f1" sourceRef="s" targetRef="t" /><userTask id="t" name="会签">\n'
        "<multiInstanceLoopCharacteristics /></userTask>\n"
        '<sequenceFlow id="f2" sourceRef="t" targetRef="e" /><endEvent id="e" /></process></definitions>\n'
    )
    found = [m for m in prepare({"x.bpmn": text.encode()}, {}).errors if m.element_id == "t"]
    assert found and found[0].line == 4 and "loopCardinality" in found[0].text


def test_event_subprocess_warns_that_the_case_stays_open() -> None:
    text = (
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">\n'
        '<process id="p" isExecutable="true"><startEvent id="s" />\n'
        '<sequenceFlow id="f1" sourceRef="s" targetRef="e" /><endEvent id="e" />\n'
        '<subProcess id="late" triggeredByEvent="true"><startEvent id="t" isInterrupting="false">\n'
        '<timerEventDefinition><timeDuration>"P5D"</timeDuration></timerEventDefinition></startEvent>\n'
        '<sequenceFlow id="f2" sourceRef="t" targetRef="e2" /><endEvent id="e2" /></subProcess>\n'
        "</process></definitions>\n"
    )
    messages = prepare({"x.bpmn": text.encode()}, {}).messages
    found = [m for m in messages if m.element_id == "late" and "BPMNDI" not in m.text]
    assert [(m.severity, m.line) for m in found] == [("warning", 4)] and "event subprocess" in found[0].text
