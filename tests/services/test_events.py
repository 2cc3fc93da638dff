"""Case events for the supervision platform: written with the change, published in order, documented."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from app.models import Alert, Case, ClockPause, OutboxEvent, SupervisionOrder, User
from app.services import step_events as step_events_module
from app.services.cases import complete_task, open_tasks, start_case
from app.services.events import (
    emit_alert_raised,
    emit_case_event,
    emit_clock_event,
    emit_supervision_order,
    replay_events,
)
from app.services.step_events import publish_case_events
from tests.conftest import FIXED_NOW
from tests.factories import create_department, create_user
from tests.services.helpers import deploy_fixture
from tests.services.receivers import clear_outbox

DEPARTMENTS = ["market", "tax"]
ENVELOPE = {
    "schema",
    "event_id",
    "idempotency_key",
    "kind",
    "case_number",
    "case_kind",
    "occurred_at",
    "department",
    "item_code",
    "step",
    "actor",
    "data",
}


@pytest.fixture(autouse=True)
def _empty_outbox(session: Session) -> None:
    clear_outbox(session)


@pytest.fixture
def people(session: Session, now: datetime) -> dict[str, User]:
    users = {
        "clerk": create_user(session, now, username="ev-clerk", roles=[("clerk", "approval")]),
        "leader": create_user(session, now, roles=[("leader", "gxq")]),
        "applicant": create_user(session, now, roles=[("applicant", None)]),
    }
    for dept in DEPARTMENTS:
        users[dept] = create_user(session, now, roles=[("approver", dept)])
    return users


def _start(session: Session, people: dict[str, User], now: datetime, **kwargs: Any) -> Case:
    deploy_fixture(session, "mini_parallel", now)
    data = {"departments": DEPARTMENTS, **kwargs.pop("data", {})}
    return start_case(session, "mini_parallel", data, people["applicant"], now, **kwargs)


def _events(session: Session, case: Case, channel: str = "webhook") -> list[OutboxEvent]:
    publish_case_events(session, FIXED_NOW)  # what every claim of the delivery job does first
    query = select(OutboxEvent).where(OutboxEvent.case_id == case.id, OutboxEvent.channel == channel)
    return list(session.scalars(query.order_by(OutboxEvent.id)))


def _kinds(session: Session, case: Case) -> list[str]:
    return [e.kind for e in _events(session, case)]


@contextmanager
def _statements(session: Session, prefix: str) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = session.get_bind().engine

    def listener(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(prefix):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def _run_to_the_end(session: Session, people: dict[str, User], case: Case, now: datetime) -> None:
    [intake] = open_tasks(session, case)
    complete_task(session, intake.id, {"decision": "accept"}, people["clerk"], now)
    for task in open_tasks(session, case):
        actor = people[task.candidate_department or ""]
        complete_task(session, task.id, {"review_decision": "accept"}, actor, now + timedelta(hours=1))
    [decide] = open_tasks(session, case)
    complete_task(session, decide.id, {"decision": "accept", "opinion": "同意"}, people["leader"], now)


def test_a_case_reports_its_life_in_order(session: Session, people: dict[str, User], now: datetime) -> None:
    case = _start(session, people, now)
    assert _kinds(session, case) == ["step.started"]
    _run_to_the_end(session, people, case, now)
    assert _kinds(session, case) == [
        "step.started",
        "step.finished",  # intake, decision accept → 受理
        "case.accepted",
        "step.started",
        "step.started",
        "step.finished",
        "step.finished",
        "step.started",
        "step.finished",
        "case.closed",
    ]
    keys = [e.idempotency_key for e in _events(session, case)]
    assert len(set(keys)) == len(keys)
    assert all(key.startswith(f"{case.number}:") for key in keys)
    assert f"{case.number}:case.accepted:1" in keys and f"{case.number}:case.closed:1" in keys


def test_the_envelope_follows_the_documented_schema(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _start(session, people, now)
    [intake] = open_tasks(session, case)
    complete_task(session, intake.id, {"decision": "accept"}, people["clerk"], now)
    finished, accepted, *started = _events(session, case)[1:]
    payload = finished.payload
    assert set(payload) == ENVELOPE
    assert payload["schema"] == "govflow.case-event/1"
    assert payload["idempotency_key"] == finished.idempotency_key
    assert uuid.UUID(payload["event_id"]).version == 5
    assert payload["occurred_at"] == "2026-11-23T09:30:00+08:00"
    assert payload["case_number"] == case.number and payload["case_kind"] == "application"
    assert payload["step"]["id"] == "intake" and payload["step"]["name"] == "窗口受理"
    assert payload["step"]["due_at"] == "2026-11-25T23:59:59+08:00"
    assert payload["actor"]["username"] == "ev-clerk"
    assert payload["data"] == {"decision": "accept", "outcome": "completed"}
    assert accepted.payload["data"] == {"by_step": "intake"}
    assert sorted(e.payload["department"] for e in started) == DEPARTMENTS
    assert {e.payload["step"]["role"] for e in started} == {"approver"}
    assert all(e.next_attempt_at == now and e.delivered_at is None for e in _events(session, case))


def test_a_completion_writes_its_events_on_the_case_row_and_one_insert_publishes_them(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _start(session, people, now)
    publish_case_events(session, now)
    [intake] = open_tasks(session, case)
    with _statements(session, "INSERT INTO OUTBOX_EVENT") as inserts:
        complete_task(session, intake.id, {"decision": "accept"}, people["clerk"], now)
    assert inserts == []  # the events ride on the UPDATE of the case row
    session.expire(case)
    assert [line.split('"')[1] for line in (case.pending_events or "").splitlines()] == [
        "step.finished",
        "case.accepted",
        "step.started",
        "step.started",
    ]
    with _statements(session, "INSERT INTO OUTBOX_EVENT") as inserts:
        assert publish_case_events(session, now + timedelta(seconds=10)) == 4
    assert len(inserts) == 1
    session.expire(case)
    assert case.pending_events is None
    assert publish_case_events(session, now + timedelta(seconds=20)) == 0
    assert _kinds(session, case) == [
        "step.started",
        "step.finished",
        "case.accepted",
        "step.started",
        "step.started",
    ]
    published = _events(session, case)[1:]
    assert {e.created_at for e in published} == {case.updated_at}  # when it happened, not when published
    assert all(e.next_attempt_at is not None and e.next_attempt_at > e.created_at for e in published)


def test_an_alert_written_after_a_step_is_delivered_after_its_events(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _start(session, people, now)
    [intake] = open_tasks(session, case)
    complete_task(session, intake.id, {"decision": "accept"}, people["clerk"], now)
    review = open_tasks(session, case)[0]
    alert = Alert(
        dedupe_key=f"{case.id}:{review.id}:warning",
        case_id=case.id,
        human_task_id=review.id,
        department_code=None,
        level="warning",
        rule="step_due_soon",
        explanation="部门审查即将到期",
        raised_at=now,
    )
    session.add(alert)
    emit_alert_raised(session, alert, now + timedelta(minutes=1))  # before any delivery run
    session.expire(case)
    assert case.pending_events is None  # published first, by the writer of the alert
    assert _kinds(session, case)[-1] == "alert.raised"
    assert _kinds(session, case)[:3] == ["step.started", "step.finished", "case.accepted"]


def test_publishing_leaves_events_of_a_case_changed_meanwhile_for_the_next_run(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _start(session, people, now)
    session.flush()
    [seen] = step_events_module._read_pending(session, [case.id], skip_locked=False)
    session.execute(  # a change of the case between reading its lines and clearing them
        update(Case).where(Case.id == case.id).values(version=Case.version + 1),
        execution_options={"synchronize_session": False},
    )
    rows = step_events_module._take_pending(session, [seen], now)
    assert [r["kind"] for r in rows] == ["step.started"]
    session.expire(case)
    assert case.pending_events == seen.pending_events  # kept: published again (same key, skipped) later
    assert publish_case_events(session, now) == 1 and _kinds(session, case) == ["step.started"]


def test_refusal_closes_without_acceptance(session: Session, people: dict[str, User], now: datetime) -> None:
    case = _start(session, people, now)
    [intake] = open_tasks(session, case)
    complete_task(session, intake.id, {"decision": "refuse", "opinion": "不予受理"}, people["clerk"], now)
    assert _kinds(session, case) == ["step.started", "step.finished", "case.closed"]
    assert _events(session, case)[-1].payload["data"] == {"status": "completed"}


def test_documents_and_work_orders_count_as_accepted_when_started(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _start(session, people, now, kind="document")
    assert _kinds(session, case) == ["case.accepted", "step.started"]
    [intake] = open_tasks(session, case)
    complete_task(session, intake.id, {"decision": "accept"}, people["clerk"], now)
    assert _kinds(session, case).count("case.accepted") == 1  # written once per case


def test_alert_pause_and_order_events_are_keyed_by_their_row(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _start(session, people, now)
    [intake] = open_tasks(session, case)
    alert = Alert(
        dedupe_key=f"{case.id}:{intake.id}:yellow",
        case_id=case.id,
        human_task_id=intake.id,
        department_code=None,
        level="yellow",
        rule="step_overdue",
        explanation="窗口受理超过 2 个工作日",
        raised_at=now,
    )
    session.add(alert)
    key = emit_alert_raised(session, alert, now)
    assert key == f"{case.number}:alert.raised:{alert.id}"
    assert emit_alert_raised(session, alert, now) == key  # a second emission is the same event
    pause = ClockPause(case_id=case.id, reason="补正", note="缺营业执照", started_at=now)
    session.add(pause)
    assert emit_clock_event(session, pause, now).endswith(f":clock.paused:{pause.id}")
    pause.ended_at = now + timedelta(days=3)
    assert emit_clock_event(session, pause, now + timedelta(days=3)).endswith(f":clock.resumed:{pause.id}")
    dept = create_department(session, "ev-dept", "测试局")
    order = SupervisionOrder(
        case_id=case.id,
        department=dept,
        instruction="限期办结",
        deadline=now + timedelta(days=5),
        issued_by_id=people["leader"].id,
        issued_at=now,
    )
    session.add(order)
    assert emit_supervision_order(session, order, "issued", now).endswith(f":{order.id}.issued.blue")
    events = {e.kind: e for e in _events(session, case)}
    assert list(events) == [
        "step.started",
        "alert.raised",
        "clock.paused",
        "clock.resumed",
        "supervision.order",
    ]
    assert events["alert.raised"].payload["data"]["level"] == "yellow"
    assert events["alert.raised"].payload["step"]["id"] == "intake"
    assert events["clock.resumed"].payload["data"]["ended_at"] == "2026-11-26T09:30:00+08:00"
    assert events["supervision.order"].payload["data"]["department"] == "ev-dept"


def test_unknown_kinds_and_caseless_events_need_care(session: Session, now: datetime) -> None:
    with pytest.raises(ValueError, match="unknown event kind"):
        emit_case_event(session, None, "case.exploded", {}, now, sequence="1")
    with pytest.raises(ValueError, match="explicit sequence"):
        emit_case_event(session, None, "supervision.order", {}, now)
    key = emit_case_event(session, None, "supervision.order", {"order_id": 7}, now, sequence="7.issued")
    assert key == "-:supervision.order:7.issued"


def test_replay_resends_a_range_with_the_same_keys(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    first = _start(session, people, now)
    second = _start(session, people, now + timedelta(hours=2))
    publish_case_events(session, now + timedelta(hours=2))
    for row in session.scalars(select(OutboxEvent)):
        row.delivered_at, row.attempts = now + timedelta(hours=3), 1
    session.flush()
    later = now + timedelta(days=1)
    assert replay_events(session, now, now + timedelta(hours=1), None, later) == 1
    assert [e.delivered_at for e in _events(session, first)] == [None]
    assert [e.next_attempt_at for e in _events(session, first)] == [later]
    assert _events(session, second)[0].delivered_at is not None
    assert replay_events(session, now, later, second.number, later) == 1
    assert _events(session, second)[0].delivered_at is None and _events(session, second)[0].attempts == 0
    assert replay_events(session, now, later, "GF-1999-000000", later) == 0
