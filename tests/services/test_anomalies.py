"""Anomaly rules: each raises on its facts and stays quiet on a normal case; idempotent; red cards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Alert, Anomaly, AuditEvent, Case, OutboxEvent, ProcessVersion, User
from app.services.anomalies import run_anomaly_rules
from app.services.runtime import invalidate_calendar
from tests.factories import create_user
from tests.services import supervision_data as data

Setup = Callable[[Session, ProcessVersion, User, datetime], Case]


@pytest.fixture(autouse=True)
def _fresh_calendar() -> Iterator[None]:
    invalidate_calendar()
    yield
    invalidate_calendar()


def _ago(now: datetime, **delta: float) -> datetime:
    return now - timedelta(**delta)


def _closed(s: Session, pv: ProcessVersion, now: datetime, minutes: float, **kw: object) -> Case:
    return data.case(
        s,
        pv,
        _ago(now, hours=2),
        status="completed",
        closed=_ago(now, hours=2) + timedelta(minutes=minutes),
        **kw,
    )  # type: ignore[arg-type]


def _issued(s: Session, case: Case, now: datetime) -> Case:
    data.task(
        s,
        case,
        case.created_at,
        None,
        state="completed",
        completed=case.closed_at,
        properties={"issuesLicence": "true"},
    )
    return case


def step_late(s: Session, pv: ProcessVersion, u: User, now: datetime) -> Case:
    case = data.case(s, pv, _ago(now, days=10))
    data.task(s, case, _ago(now, days=10), _ago(now, days=3))
    return case


def step_in_time(s: Session, pv: ProcessVersion, u: User, now: datetime) -> Case:
    case = data.case(s, pv, _ago(now, days=10))
    data.task(s, case, _ago(now, days=10), _ago(now, days=3), state="completed", completed=_ago(now, days=4))
    return case


def refused_silently(s: Session, pv: ProcessVersion, u: User, now: datetime) -> Case:
    case = data.case(s, pv, _ago(now, days=1))
    data.opinion(s, case, u, "refuse", "  ", _ago(now, hours=1))
    return case


def refused_with_reason(s: Session, pv: ProcessVersion, u: User, now: datetime) -> Case:
    case = data.case(s, pv, _ago(now, days=1))
    data.opinion(s, case, u, "deny", "不符合《食品经营许可管理办法》第十二条", _ago(now, hours=1))
    return case


def closed_in_a_minute(s: Session, pv: ProcessVersion, u: User, now: datetime) -> Case:
    return _issued(s, _closed(s, pv, now, 1), now)


def closed_in_an_hour(s: Session, pv: ProcessVersion, u: User, now: datetime) -> Case:
    return _issued(s, _closed(s, pv, now, 60), now)


def closed_before_created(s: Session, pv: ProcessVersion, u: User, now: datetime) -> Case:
    return _issued(s, _closed(s, pv, now, -30), now)


def step_done_before_it_arrived(s: Session, pv: ProcessVersion, u: User, now: datetime) -> Case:
    case = data.case(s, pv, _ago(now, days=2))
    data.task(s, case, _ago(now, days=1), None, state="completed", completed=_ago(now, days=1, hours=1))
    return case


def supplements(count: int) -> Setup:
    def setup(s: Session, pv: ProcessVersion, u: User, now: datetime) -> Case:
        case = data.case(s, pv, _ago(now, days=5))
        for _ in range(count):
            data.task(
                s,
                case,
                _ago(now, days=4),
                None,
                state="completed",
                completed=_ago(now, days=3),
                properties={"pausesClock": "补正"},
            )
        return case

    return setup


def returns(count: int, decision: str = "return", kind: str = "application") -> Setup:
    def setup(s: Session, pv: ProcessVersion, u: User, now: datetime) -> Case:
        case = data.case(s, pv, _ago(now, days=5), kind=kind)
        for _ in range(count):
            data.opinion(s, case, u, decision, "请重新核实", _ago(now, days=1), step="签收")
        return case

    return setup


def tolerated_terminated(by_timer: bool) -> Setup:
    def setup(s: Session, pv: ProcessVersion, u: User, now: datetime) -> Case:
        case = data.case(s, pv, _ago(now, days=20), status="terminated", closed=_ago(now, hours=3))
        status = "terminated" if by_timer else "open"
        s.add(
            AuditEvent(
                case_id=case.id,
                action="timer.fired",
                detail={"status": status},
                created_at=_ago(now, hours=3),
            )
        )
        s.flush()
        return case

    return setup


def verification_overdue(s: Session, pv: ProcessVersion, u: User, now: datetime) -> Case:
    case = data.case(s, pv, _ago(now, days=40))
    s.add(
        OutboxEvent(
            case_id=case.id,
            channel="bpmn",
            kind="verification_overdue",
            payload={},
            idempotency_key=f"{case.number}:vo",
            created_at=now,
        )
    )
    s.flush()
    return case


def commitment_revoked(s: Session, pv: ProcessVersion, u: User, now: datetime) -> Case:
    case = data.case(s, pv, _ago(now, days=40))
    data.task(s, case, _ago(now, days=1), None, name="撤销许可", bpmn_id="revoke_licence")
    return case


def without_result(s: Session, pv: ProcessVersion, u: User, now: datetime) -> Case:
    return _closed(s, pv, now, 90)


def denied_without_licence(s: Session, pv: ProcessVersion, u: User, now: datetime) -> Case:
    case = _closed(s, pv, now, 90)
    data.task(s, case, case.created_at, None, state="completed", completed=case.closed_at, decision="deny")
    return case


def result_in_data(s: Session, pv: ProcessVersion, u: User, now: datetime) -> Case:
    return _closed(s, pv, now, 90, data={"result_documents": ["许可证.pdf"]})


def quiet(s: Session, pv: ProcessVersion, u: User, now: datetime) -> Case:
    return data.case(s, pv, _ago(now, days=1))


CASES: list[tuple[str, Setup, Setup, str]] = [
    ("step_overdue", step_late, step_in_time, "步骤『部门审查』办理期限为"),
    ("refusal_without_reason", refused_silently, refused_with_reason, "作出不予受理决定，未说明理由"),
    ("closed_too_fast", closed_in_a_minute, closed_in_an_hour, "仅用时60秒"),
    ("timestamps_out_of_order", closed_before_created, closed_in_an_hour, "早于受理时间"),
    ("timestamps_out_of_order", step_done_before_it_arrived, quiet, "早于到达时间"),
    ("repeated_supplement", supplements(2), supplements(1), "已补正2次"),
    ("repeated_return", returns(3), returns(2), "已被退回3次"),
    (
        "hotline_repeated_return",
        returns(3, "reject", "work_order"),
        returns(2, "reject", "work_order"),
        "退单3次",
    ),
    ("supplement_overdue", tolerated_terminated(True), tolerated_terminated(False), "补正期限届满"),
    ("commitment_verification_overdue", verification_overdue, quiet, "核查超过核查期限"),
    ("commitment_false", commitment_revoked, quiet, "承诺不实"),
    ("closed_without_result", without_result, denied_without_licence, "没有出件"),
    ("closed_without_result", without_result, result_in_data, "没有出件"),
]


@pytest.fixture
def actor(session: Session, now: datetime) -> User:
    return create_user(session, now, roles=[("clerk", "approval")])


@pytest.mark.parametrize(("rule", "raises", "must_not", "text"), CASES)
def test_rule_raises_and_must_not(
    session: Session, now: datetime, actor: User, rule: str, raises: Setup, must_not: Setup, text: str
) -> None:
    pv = data.version(session, now)
    flagged, normal = raises(session, pv, actor, now), must_not(session, pv, actor, now)
    found = run_anomaly_rules(session, now)
    by_case = {(a.case_id, a.rule_code): a for a in found}
    assert (flagged.id, rule) in by_case, [(a.case_id, a.rule_code, a.explanation) for a in found]
    assert text in by_case[(flagged.id, rule)].explanation
    assert not [a for a in found if a.case_id == normal.id and a.rule_code == rule]


def test_idempotent_and_serious_rules_raise_a_red_card(session: Session, now: datetime, actor: User) -> None:
    pv = data.version(session, now)
    case = refused_silently(session, pv, actor, now)
    first = run_anomaly_rules(session, now)
    assert [(a.rule_code, a.severity) for a in first if a.case_id == case.id] == [
        ("refusal_without_reason", "serious")
    ]
    assert run_anomaly_rules(session, now + timedelta(minutes=15)) == []
    [alert] = session.scalars(select(Alert).where(Alert.case_id == case.id))
    assert alert.level == "red" and alert.dedupe_key == f"{case.id}:a-refusal_without_reason:red"


def test_normal_rules_raise_no_card(session: Session, now: datetime, actor: User) -> None:
    pv = data.version(session, now)
    case = returns(3)(session, pv, actor, now)
    run_anomaly_rules(session, now)
    assert session.scalars(select(Alert).where(Alert.case_id == case.id)).all() == []


def test_step_overdue_names_the_first_late_step_of_a_case(
    session: Session, now: datetime, actor: User
) -> None:
    pv = data.version(session, now)
    case = data.case(session, pv, _ago(now, days=10))
    first = data.task(session, case, _ago(now, days=10), _ago(now, days=3), name="受理审查")
    data.task(session, case, _ago(now, days=9), _ago(now, days=2), name="部门审查")
    found = [a for a in run_anomaly_rules(session, now) if a.rule_code == "step_overdue"]
    assert [(a.case_id, a.rule_code) for a in found] == [(case.id, "step_overdue")]
    assert "步骤『受理审查』" in found[0].explanation
    due = first.due_at.astimezone(now.tzinfo).date().isoformat()  # type: ignore[union-attr]
    assert f"办理期限为 {due}，" in found[0].explanation  # the due day, not 23:59:59 or an ISO instant
    [anomaly] = session.scalars(select(Anomaly).where(Anomaly.case_id == case.id))
    assert anomaly.facts["task"] == first.id and anomaly.id == found[0].id
