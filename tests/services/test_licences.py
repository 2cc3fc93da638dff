"""电子证照: issued on the real 并联审批 path, revoked on a false commitment, listed for reuse."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import CreditRecord, Licence, Notification, User
from app.services.errors import NotFound
from app.services.licences import (
    applicant_licences,
    effective_status,
    licence_by_code,
    licence_for_holder,
    mask_name,
)
from tests.processes.scenario import complete, deploy, only_task
from tests.services.results_data import approve_parallel, people, service_item, start_parallel


@pytest.fixture
def users(session: Session, now: datetime) -> dict[str, User]:
    return people(session, now)


def test_issue_licence_on_the_parallel_approval_path(
    session: Session, users: dict[str, User], now: datetime
) -> None:
    item = service_item(session, licence_type="营业执照", licence_valid_years=3)
    case = approve_parallel(session, start_parallel(session, users, now, item), users, now)
    licence = session.scalars(select(Licence).where(Licence.case_id == case.id)).one()
    assert licence.holder_id == users["applicant"].id and licence.holder_name == "星辰科技有限公司"
    assert licence.licence_type == "营业执照" and licence.number == "GX-2026-000001"
    assert licence.status == "valid" and len(licence.verification_code) >= 20
    assert licence.valid_until is not None and licence.valid_until.year == 2029
    assert applicant_licences(session, users["applicant"], "营业执照") == [licence]
    assert applicant_licences(session, users["applicant"], "食品经营许可证") == []
    assert applicant_licences(session, users["other"], None) == []
    kinds = session.scalars(select(Notification.kind).where(Notification.user_id == users["applicant"].id))
    assert "licence.issued" in list(kinds)


def test_licence_defaults_without_item_and_lookups(
    session: Session, users: dict[str, User], now: datetime
) -> None:
    case = approve_parallel(session, start_parallel(session, users, now), users, now)
    licence = session.scalars(select(Licence).where(Licence.case_id == case.id)).one()
    assert licence.licence_type == "企业设立登记"  # the case title when no item is linked
    assert licence.valid_until is not None and licence.valid_until.year == 2031  # +5 years
    assert licence_by_code(session, licence.verification_code) is licence
    assert licence_for_holder(session, licence.id, users["applicant"]) is licence
    with pytest.raises(NotFound):
        licence_for_holder(session, licence.id, users["other"])
    with pytest.raises(NotFound):
        licence_by_code(session, "nope")
    assert effective_status(licence, now) == "valid"
    assert effective_status(licence, licence.valid_until + timedelta(seconds=1)) == "expired"


def test_false_commitment_revokes_the_licence_and_records_credit(
    session: Session, users: dict[str, User], now: datetime
) -> None:
    from app.services.cases import start_case

    deploy(session, "commitment_approval", now)
    case = start_case(session, "commitment_approval", {}, users["applicant"], now, title="公共场所卫生许可")
    signed = {"decision": "commit", "read_notice": True, "signatory": "王芳", "signed_on": "2026-11-23"}
    complete(session, only_task(session, case, "sign_commitment"), signed, users["applicant"], now)
    approved = {"licence_no": "X1", "verification_method": "实地", "verification_deadline": "2026-12-18"}
    complete(session, only_task(session, case, "approve_immediately"), approved, users["clerk"], now)
    licence = session.scalars(select(Licence).where(Licence.case_id == case.id)).one()
    false = {
        "verification_method": "实地",
        "verification_result": "false_commitment",
        "findings": "卫生设施不存在",
        "verified_on": "2026-11-24",
        "opinion": "承诺不实",
        "evidence": ["现场照片.jpg"],
    }
    complete(session, only_task(session, case, "verify_commitment"), false, users["inspector"], now)
    assert licence.status == "valid"  # revoked by the revocation step, not by the finding
    revocation = {
        "revocation_reason": "申请人承诺的卫生设施不存在",
        "legal_basis": "《中华人民共和国行政许可法》第六十九条第二款",
        "decision_documents": ["撤销行政许可决定书.pdf"],
        "revoked_on": "2026-11-24",
        "opinion": "依法撤销",
    }
    later = now + timedelta(days=1)
    complete(session, only_task(session, case, "revoke_licence"), revocation, users["clerk"], later)
    session.refresh(licence)
    assert (licence.status, licence.revoked_at, licence.revoke_reason) == (
        "revoked",
        later,
        "申请人承诺的卫生设施不存在",
    )
    records = session.scalars(select(CreditRecord).where(CreditRecord.case_id == case.id)).all()
    assert [(r.kind, r.subject_id) for r in records] == [("false_commitment", users["applicant"].id)]
    kinds = session.scalars(select(Notification.kind).where(Notification.user_id == users["applicant"].id))
    assert "licence.revoked" in list(kinds)
    assert applicant_licences(session, users["applicant"], None) == []


@pytest.mark.parametrize(
    ("name", "masked"),
    [("星辰科技有限公司", "星辰***司"), ("张三", "张*"), ("李小明", "李*明"), ("A", "*"), ("  ", "*")],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked
