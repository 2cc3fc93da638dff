"""Announcing a batch of alerts set-based writes exactly what routing them one by one writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.models import Alert, HumanTask, Notification, OutboxEvent, User
from app.services.alert_routing import announce_many
from app.services.cases import open_tasks, start_case
from app.services.delivery.routing import route_alert
from app.services.events import emit_alert_raised
from app.services.step_events import publish_case_events
from tests.factories import create_user
from tests.services.helpers import deploy_fixture
from tests.services.receivers import clear_outbox


@pytest.fixture(autouse=True)
def _empty_outbox(session: Session) -> None:
    clear_outbox(session)


def _person(session: Session, now: datetime, role: tuple[str, str], n: int, phone: bool = True) -> User:
    user = create_user(session, now, roles=[role])
    user.email = f"bulk{n}@example.gov.cn"
    user.phone = f"1390000000{n}" if phone else None
    return user


@pytest.fixture
def alerts(session: Session, now: datetime) -> list[Alert]:
    """Warning, yellow and red cards on assigned and unassigned steps, and case-level cards."""
    handler = _person(session, now, ("clerk", "approval"), 1)
    _person(session, now, ("clerk", "approval"), 2, phone=False)
    _person(session, now, ("dept_head", "approval"), 3)
    _person(session, now, ("dept_head", "tax"), 4)
    _person(session, now, ("supervisor", "supervision"), 5)
    _person(session, now, ("supervisor", "supervision"), 6, phone=False)
    gone = _person(session, now, ("clerk", "approval"), 7)
    gone.active = False
    session.flush()
    deploy_fixture(session, "mini_timer", now)
    tasks: list[HumanTask] = []
    for assignee in (handler.id, None, gone.id):
        case = start_case(session, "mini_timer", {}, handler, now)
        [task] = open_tasks(session, case)
        task.assignee_id, task.candidate_role, task.candidate_department = assignee, "clerk", "approval"
        tasks.append(task)
    rows = [
        (task, level, department)
        for task in tasks
        for level, department in (("warning", "approval"), ("yellow", "approval"), ("red", None))
    ]
    rows += [(None, "yellow", "tax"), (None, "red", None)]
    made = [
        _alert(session, tasks[n % len(tasks)], task, level, dep, now)
        for n, (task, level, dep) in enumerate(rows)
    ]
    session.flush()
    publish_case_events(session, now)
    _forget(session)  # the step.started events of the cases
    return made


def _alert(
    session: Session,
    owner: HumanTask,
    task: HumanTask | None,
    level: str,
    department: str | None,
    now: datetime,
) -> Alert:
    step = task.id if task is not None else "-"
    alert = Alert(
        dedupe_key=f"{owner.case_id}:{step}:{level}",
        case_id=owner.case_id,
        human_task_id=task.id if task is not None else None,
        department_code=department,
        level=level,
        rule="step_overdue",
        explanation="已超期",
        raised_at=now,
    )
    session.add(alert)
    return alert


def _written(session: Session) -> tuple[set[tuple[int, str, str]], dict[str, tuple[Any, ...]]]:
    notes = session.execute(select(Notification.user_id, Notification.kind, Notification.title))
    outbox = session.scalars(select(OutboxEvent))
    rows = {row.idempotency_key: (row.channel, row.kind, row.case_id, row.payload) for row in outbox}
    return {tuple(note) for note in notes}, rows  # type: ignore[misc]


def _forget(session: Session) -> None:
    session.execute(delete(Notification))
    session.execute(delete(OutboxEvent))
    session.expire_all()


def test_a_batch_writes_what_one_by_one_routing_writes(
    session: Session, alerts: list[Alert], now: datetime
) -> None:
    for alert in sorted(alerts, key=lambda a: a.id):
        emit_alert_raised(session, alert, now)
        route_alert(session, alert, now)
    one_by_one = _written(session)
    notes, outbox = one_by_one
    channels = {channel for channel, *_ in outbox.values()}
    assert channels == {"webhook", "email", "sms"} and len(notes) > len(alerts)
    _forget(session)
    ids = announce_many(session, [alert.dedupe_key for alert in alerts], now)
    assert ids == sorted(alert.id for alert in alerts)
    assert _written(session) == one_by_one


def test_announcing_again_queues_nothing_twice(session: Session, alerts: list[Alert], now: datetime) -> None:
    keys = [alert.dedupe_key for alert in alerts]
    announce_many(session, keys, now)
    first = set(session.scalars(select(OutboxEvent.id)))
    announce_many(session, keys, now)
    assert set(session.scalars(select(OutboxEvent.id))) == first
    assert announce_many(session, [], now) == []
