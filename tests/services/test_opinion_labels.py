"""An opinion's decision is labelled by the form of the step that wrote it, not by whichever form of the
version happens to name the value first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.models import Case, HumanTask, Opinion
from app.services.case_views import opinion_decision_labels
from tests.processes.scenario import deploy


def _task(task_id: int, form: str | None, state: str = "completed", field: str | None = None) -> HumanTask:
    properties = {"decisionField": field} if field else {}
    return HumanTask(id=task_id, form=form, state=state, properties=properties)


def _opinion(opinion_id: int, task_id: int | None, decision: str | None) -> Opinion:
    return Opinion(id=opinion_id, human_task_id=task_id, decision=decision)


def test_the_same_value_reads_as_each_steps_form_labels_it(session: Session, now: datetime) -> None:
    case = Case(process_version=deploy(session, "parallel_approval", now))
    tasks = [
        _task(1, "window_accept.schema.json"),  # 窗口受理: supplement = 一次性告知补正
        _task(2, "completeness_check.schema.json"),  # 牵头部门审查: supplement = 需补正
        _task(3, "review_opinion.schema.json", field="review_decision"),  # its decision field
        _task(4, None),  # a 加签 row: no form
    ]
    opinions = [
        _opinion(11, 1, "supplement"),
        _opinion(12, 2, "supplement"),
        _opinion(13, 3, "supplement"),
        _opinion(14, 1, "accept"),
        _opinion(15, 2, "transfer"),  # 转办: not a value of the form
        _opinion(16, 4, "agree"),
        _opinion(17, None, "accept"),  # no step
        _opinion(18, 99, "accept"),  # a step not among the tasks
        _opinion(19, 1, None),
    ]
    assert opinion_decision_labels(case, opinions, tasks) == {
        11: "一次性告知补正",
        12: "需补正",
        13: "需补正",
        14: "受理",
    }


def test_a_return_operation_is_not_read_as_the_forms_return_value(session: Session, now: datetime) -> None:
    case = Case(process_version=deploy(session, "document_outgoing", now))
    tasks = [_task(1, "check_draft.schema.json"), _task(2, "check_draft.schema.json", state="returned")]
    opinions = [_opinion(11, 1, "return"), _opinion(12, 2, "return")]
    # 核稿 chose 退回修改 in its form; the other 核稿 was sent back with the 退回 operation
    assert opinion_decision_labels(case, opinions, tasks) == {11: "退回修改"}
