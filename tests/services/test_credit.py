"""信用记录: a 容缺 deadline missed (timer-driven termination) records missed_supplement once."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import CreditRecord, User
from app.services.cases import start_case
from app.services.credit import has_bad_credit, open_credit_records, record_credit, repair_credit
from app.services.errors import PermissionDenied
from app.services.timers import fire_case_timers
from tests.processes.scenario import complete, deploy, only_task
from tests.services.results_data import people

PROMISE = {
    "promised_items": ["从业人员健康证明"],
    "supplement_deadline": "2026-11-27",
    "signatory": "李娜",
    "agree": True,
}
AFTER = datetime.fromisoformat("2026-11-28T08:00:00+08:00")


@pytest.fixture
def users(session: Session, now: datetime) -> dict[str, User]:
    return people(session, now)


def test_missed_supplement_records_credit_once(
    session: Session, users: dict[str, User], now: datetime
) -> None:
    deploy(session, "tolerant_prereview", now)
    case = start_case(session, "tolerant_prereview", {}, users["applicant"], now, title="食品经营许可")
    prereview = {"decision": "tolerated", "tolerated_items": ["从业人员健康证明"]}
    complete(session, only_task(session, case, "prereview_materials"), prereview, users["clerk"], now)
    complete(session, only_task(session, case, "sign_promise"), PROMISE, users["applicant"], now)
    assert not has_bad_credit(session, users["applicant"])
    assert fire_case_timers(session, case.id, AFTER) is True
    session.refresh(case)
    assert case.status == "terminated"
    records = open_credit_records(session, users["applicant"])
    assert [(r.kind, r.case_id, r.created_at) for r in records] == [("missed_supplement", case.id, AFTER)]
    assert "补正期限届满" in records[0].reason
    again = record_credit(session, users["applicant"].id, "missed_supplement", "x", case, AFTER)
    assert again.id == records[0].id  # one record per (subject, case, kind)
    assert has_bad_credit(session, users["applicant"])


def test_repair_credit_by_supervisor_only(session: Session, users: dict[str, User], now: datetime) -> None:
    record = record_credit(session, users["applicant"].id, "false_commitment", "承诺不实", None, now)
    with pytest.raises(PermissionDenied):
        repair_credit(session, record.id, users["clerk"], "", now)
    repair_credit(session, record.id, users["supervisor"], "已整改", now)
    assert session.scalars(select(CreditRecord.repaired_at)).all() == [now]
    assert not has_bad_credit(session, users["applicant"])
