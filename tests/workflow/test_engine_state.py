"""State handling: refusal of non-READY tasks, spec-less state, migration, 退回 (reset) loops, compilation."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from app.workflow import (
    InvalidTaskData,
    ProcessInvalid,
    SpecRef,
    TaskNotReady,
    WorkflowEngine,
    compile_process,
    migrate,
)
from tests.workflow.engine_kit import BPMN, T0, Case, forms, save_restore, spec_for, unchecked_probe_spec

REVIEWS = ["review_env", "review_fire", "review_market", "review_tax"]


def _at_reviews() -> Case:
    case = Case(WorkflowEngine(), spec_for("parallel6"))
    case.start({"applicant": "李四"})
    case.complete("intake")
    return case


def test_state_has_no_spec_and_is_small() -> None:
    case = _at_reviews()
    for review in REVIEWS:
        case.complete(review)
    done = case.complete("decision", {"result": "同意"})
    state = json.loads(done.state)
    assert "spec" not in state and "subprocess_specs" not in state
    assert len(done.state) < 10_000


def test_completing_a_task_that_is_not_ready_raises() -> None:
    case = _at_reviews()
    intake_id = case.history[0].ready[0].task_id  # completed by now
    with pytest.raises(TaskNotReady, match="COMPLETED"):
        case.engine.complete(case.spec, case.state, intake_id, {}, T0)
    with pytest.raises(TaskNotReady):
        case.engine.complete(case.spec, case.state, "00000000-0000-4000-8000-000000000000", {}, T0)
    with pytest.raises(TaskNotReady):
        case.engine.complete(case.spec, case.state, "not-a-task", {}, T0)


def test_completing_an_engine_task_raises() -> None:
    case = _at_reviews()
    tasks = json.loads(case.state)["tasks"]
    split_id = next(t["id"] for t in tasks.values() if t["task_spec"] == "split")
    with pytest.raises(TaskNotReady, match="user or manual"):
        case.engine.complete(case.spec, case.state, split_id, {}, T0)
    with pytest.raises(TaskNotReady, match="user or manual"):
        case.engine.reset_to(case.spec, case.state, split_id, T0)


def test_bad_input_is_refused() -> None:
    case = _at_reviews()
    (task, *_) = case.ready("review_tax")
    with pytest.raises(InvalidTaskData):
        case.engine.complete(case.spec, case.state, task.task_id, {"x": {"typename": "BpmnWorkflow"}}, T0)
    with pytest.raises(InvalidTaskData):
        case.engine.complete(case.spec, case.state, task.task_id, {"when": T0}, T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        case.engine.complete(case.spec, case.state, task.task_id, {}, datetime(2026, 5, 6, 9))


def test_restored_state_still_runs_in_the_sandbox() -> None:
    spec = unchecked_probe_spec("ok = True", "__import__('os').system('id') == 0")
    started = WorkflowEngine().start(spec, {}, T0)
    restored = save_restore(started.state)
    fresh_engine = WorkflowEngine()  # as in another worker process: nothing cached on the engine
    result = fresh_engine.complete(spec, restored, started.ready[0].task_id, {}, T0)
    assert result.status == "error" and "__import__" in (result.error or "")


def _variant(old: str, new: str) -> SpecRef:
    data = (BPMN / "parallel6.bpmn").read_bytes().replace(old.encode(), new.encode())
    assert data != (BPMN / "parallel6.bpmn").read_bytes()
    compiled = compile_process({"parallel6.bpmn": data}, forms())
    return SpecRef(compiled.content_hash, compiled.spec_json)


def test_migration_of_a_future_step_is_allowed() -> None:
    case = _at_reviews()
    new = _variant('name="领导决定"', 'name="分管领导决定"')
    outcome = migrate(case.spec, new, case.state)
    assert outcome.ok and outcome.reasons == () and outcome.state is not None
    moved = Case(case.engine, new, result=case.result)
    moved.result = case.engine.inspect(new, outcome.state)
    for review in REVIEWS:
        moved.complete(review)
    (decision,) = moved.ready("decision")
    assert decision.name == "分管领导决定"


def test_migration_refused_when_a_completed_step_changed() -> None:
    case = _at_reviews()
    new = _variant('name="窗口受理"', 'name="综合窗口受理"')
    outcome = migrate(case.spec, new, case.state)
    assert not outcome.ok and outcome.state is None
    assert len(outcome.reasons) == 1 and outcome.reasons[0].startswith("intake: ")


def test_reset_to_returns_to_the_target_and_prunes_the_tree() -> None:
    case = _at_reviews()
    for review in REVIEWS:
        case.complete(review)
    sizes = []
    for _ in range(50):
        assert case.result is not None
        back = case._keep(case.engine.reset_to(case.spec, case.state, "intake", T0))
        assert [t.bpmn_id for t in back.ready] == ["intake"]
        case.complete("intake")
        for review in REVIEWS:
            case.complete(review)
        assert case.ready_ids() == ["decision"]
        sizes.append(len(case.state))
    assert max(sizes) - min(sizes) < 200  # the task tree does not grow with each 退回
    assert len(json.loads(case.state)["tasks"]) == len(json.loads(case.history[5].state)["tasks"])


def test_reset_to_by_task_id() -> None:
    case = _at_reviews()
    tax_id = case.ready("review_tax")[0].task_id
    case.complete("review_tax", {"opinion": "同意"})
    back = case.engine.reset_to(case.spec, case.state, tax_id, T0)
    assert sorted(t.bpmn_id for t in back.ready) == REVIEWS
    assert "opinion" not in next(t for t in back.ready if t.bpmn_id == "review_tax").data


def test_compile_describes_steps_and_hashes_content() -> None:
    files = {"parallel6.bpmn": (BPMN / "parallel6.bpmn").read_bytes()}
    first = compile_process(files, forms())
    again = compile_process(dict(files), forms())
    changed_form = {**forms(), "review.schema.json": b'{"type": "object"}'}
    assert first.content_hash == again.content_hash
    assert compile_process(files, changed_form).content_hash != first.content_hash
    assert (first.process_id, first.name) == ("parallel6", "并联审批(六步)")
    steps = {s.bpmn_id: s for s in first.steps}
    assert sorted(steps) == sorted(["intake", "decision", *REVIEWS])
    assert steps["decision"].properties == {"returnTargets": "intake", "decisionField": "result"}
    assert steps["intake"].instructions == "核对材料" and steps["review_tax"].lane == "approver"


def test_compile_with_call_activity_picks_the_caller() -> None:
    files = {n: (BPMN / n).read_bytes() for n in ("site_check.bpmn", "approval.bpmn")}
    compiled = compile_process(files, forms())
    assert compiled.process_id == "approval"
    review = next(s for s in compiled.steps if s.bpmn_id == "dept_review")
    assert review.multi_instance and review.lane == "approver@{dept}"
    assert any(s.bpmn_id == "site_visit" and s.process_id == "site_check" for s in compiled.steps)


def test_compile_reports_a_missing_called_process_with_a_location() -> None:
    with pytest.raises(ProcessInvalid) as info:
        compile_process({"approval.bpmn": (BPMN / "approval.bpmn").read_bytes()}, forms())
    (error, *_) = info.value.errors
    assert error.file == "approval.bpmn"
    assert "site_check" in error.text


START_SCRIPT_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="start_script" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="compute" name="计算">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>__SCRIPT__</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="check" name="核对">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="compute" />
    <bpmn:sequenceFlow id="f2" sourceRef="compute" targetRef="check" />
    <bpmn:sequenceFlow id="f3" sourceRef="check" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""


def _start_script(script: str) -> SpecRef:
    compiled = compile_process(
        {"start_script.bpmn": START_SCRIPT_BPMN.replace("__SCRIPT__", script).encode()}, {}
    )
    return SpecRef(compiled.content_hash, compiled.spec_json)


def test_start_runs_the_new_case_with_its_own_copy_of_the_data() -> None:
    data = {"items": [1, 2]}
    result = WorkflowEngine().start(_start_script("items.append(3)"), data, T0)
    assert result.status == "open" and [t.bpmn_id for t in result.ready] == ["check"]
    assert result.data["items"] == [1, 2, 3] and data == {"items": [1, 2]}  # the caller's data untouched
    restored = save_restore(result.state)
    assert json.loads(restored)["last_task"]


def test_a_start_whose_first_script_fails_reports_it_and_keeps_the_case_as_started() -> None:
    engine, spec = WorkflowEngine(), _start_script("total = amount / 0")
    result = engine.start(spec, {"amount": 5}, T0)
    assert result.status == "error" and (result.error or "").startswith("compute: ")
    assert result.ready == () and result.events == ()
    again = engine.fire_timers(spec, save_restore(result.state), T0)  # the stored case runs from its start
    assert again.status == "error" and again.error == result.error
