"""Every real-world BPMN file either deploys and runs to an end event, or is rejected with located errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from app.workflow.lint import prepare
from app.workflow.simulate import simulate

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "bpmn-corpus"
if not CORPUS.is_dir():
    pytest.skip(f"BPMN corpus not found at {CORPUS} (CI keeps it beside the repo)", allow_module_level=True)

FILES = sorted(p.name for p in CORPUS.glob("*.bpmn"))

# Files that deploy and run to an end event today; a regression removes one and fails the count check.
RUNS = {
    "camunda_invoice_payment.bpmn",
    "camunda_json_vars_approval.bpmn",  # Spin JSON conditions; Java delegate -> 人工确认
    "camunda_review_invoice.bpmn",
    "camunda_twitter_qa.bpmn",  # delegateExpression service tasks -> 人工确认
    "flowable_financial_report.bpmn",
    "flowable_fix_system_failure.bpmn",
    "flowable_review_sales_lead.bpmn",
    "flowable_vacation_request.bpmn",
    "miwg_C.1.0_ref.bpmn",  # delegateExpression service task -> 人工确认
    "miwg_C.1.1_camunda.bpmn",  # data objects removed as documentation
    "miwg_C.1.1_ref.bpmn",  # data store + data objects removed; XPath getDataObject conditions
    "miwg_C.5.0_ref.bpmn",  # data stores + data objects removed
    "miwg_C.9.1_ref.bpmn",  # external-task / Zeebe send tasks -> 人工确认
    "miwg_C.9.2_ref.bpmn",  # calls C.9.1's requestDocument_en: deployed together (COMPANIONS)
    "spiffwf_action_management.bpmn",  # unconditioned gateways -> 办理人选择下一步
    "spiffwf_approvals.bpmn",
}

# Files written to be deployed together: the MIWG C.9.2 call activity calls the process of C.9.1. Alone,
# C.9.2 is rejected with "deploy the called process with it"; with its companion it runs.
COMPANIONS: dict[str, tuple[str, ...]] = {"miwg_C.9.2_ref.bpmn": ("miwg_C.9.1_ref.bpmn",)}

# Process variables the diagrams' gateways and timers read (a designer's dry run supplies them the same way).
DATA: dict[str, dict[str, object]] = {
    "flowable_vacation_request.bpmn": {"vacationApproved": "true", "resendRequest": "false"},
    "flowable_review_sales_lead.bpmn": {"notEnoughInformation": "false"},
    "camunda_json_vars_approval.bpmn": {"customer": {"name": "张三", "age": 30}},
    "camunda_twitter_qa.bpmn": {"approved": True},
    "miwg_C.1.0_ref.bpmn": {"approved": True, "clarified": "yes"},
    "miwg_C.1.1_ref.bpmn": {"approved": True, "clarified": "yes"},
    "spiffwf_action_management.bpmn": {
        "start_time": "2026-03-03T09:00:00+08:00",
        "finish_time": "2026-03-10T18:00:00+08:00",
    },
}


def test_corpus_is_complete() -> None:
    assert len(FILES) == 38


@pytest.mark.parametrize("name", FILES)
def test_file_runs_or_is_rejected_with_located_errors(name: str) -> None:
    data = (CORPUS / name).read_bytes()
    prepared = prepare({name: data}, {})
    report = simulate({name: data}, {}, data=DATA.get(name), today=date(2026, 3, 2))
    if name in COMPANIONS:
        assert any("一起发布" in m.hint for m in prepared.errors), "alone it must say: deploy the callee too"
        files = {name: data} | {other: (CORPUS / other).read_bytes() for other in COMPANIONS[name]}
        prepared = prepare(files, {})
        report = simulate(files, {}, data=DATA.get(name), today=date(2026, 3, 2))
    if name in RUNS:
        assert prepared.errors == ()
        assert report.ok and report.end_reached, report.reason and report.reason.format()
        return
    assert not report.ok
    assert prepared.errors, "rejected without a linter error"
    for msg in prepared.errors:
        assert msg.file == name and isinstance(msg.line, int) and msg.line >= 1, msg
        assert msg.text and msg.format().startswith(f"{name}:{msg.line}: ")
    assert any(m.element_id for m in prepared.errors) or name.startswith("bpmnjs_err_missing")
    assert report.reason is not None and report.reason.file == name and report.reason.line


def test_run_count() -> None:
    assert len(RUNS) == 16 and set(FILES) >= RUNS
