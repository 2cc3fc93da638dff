"""Case events for the supervision platform: written with the change, one INSERT, documented envelope."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.models import Alert, Case, ClockPause, OutboxEvent, SupervisionOrder, User
from app.services.cases import complete_task, open_tasks, start_case
from app.services.events import (
    emit_alert_raised,
    emit_case_event,
    emit_clock_event,
    emit_supervision_order,
    replay_events,
)
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
    query = select(OutboxEvent).where(OutboxEvent.case_id == case.id, OutboxEvent.channel == channel)
    return list(session.scalars(query.order_by(OutboxEvent.id)))


def _kinds(session: Session, case: Case) -> list[str]:
    return [e.kind for e in _events(session, case)]


@contextmanager
def _outbox_inserts(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = session.get_bind().engine

    def listener(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO OUTBOX_EVENT"):
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


def test_one_insert_per_completion_whatever_the_number_of_events(
    session: Session, people: dict[str, User], now: datetime
) -> None:
    case = _start(session, people, now)
    [intake] = open_tasks(session, case)
    with _outbox_inserts(session) as inserts:
        complete_task(session, intake.id, {"decision": "accept"}, people["clerk"], now)
    assert len(inserts) == 1  # step.finished + case.accepted + 2 × step.started


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
