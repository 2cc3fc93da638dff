"""信用记录: false commitments and missed supplements, recorded once per (subject, case, kind)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Case, CreditRecord, User
from app.services.audit import record_event
from app.services.errors import NotFound, PermissionDenied

FALSE_COMMITMENT = "false_commitment"
MISSED_SUPPLEMENT = "missed_supplement"
KIND_LABELS = {FALSE_COMMITMENT: "承诺不实", MISSED_SUPPLEMENT: "容缺受理逾期未补正"}


def record_credit(
    session: Session, subject_id: int, kind: str, reason: str, case: Case | None, now: datetime
) -> CreditRecord:
    """Write a credit record unless the same (subject, case, kind) is already recorded."""
    query = select(CreditRecord).where(CreditRecord.subject_id == subject_id, CreditRecord.kind == kind)
    if case is not None:
        query = query.where(CreditRecord.case_id == case.id)
    existing = session.scalar(query.limit(1))
    if existing is not None and case is not None:
        return existing
    record = CreditRecord(
        subject_id=subject_id,
        kind=kind,
        reason=reason[:2000],
        case_id=case.id if case else None,
        created_at=now,
        repaired_at=None,
    )
    session.add(record)
    record_event(session, case, None, "credit.recorded", {"kind": kind, "subject": subject_id}, now)
    session.flush()
    return record


def record_missed_supplement(session: Session, case: Case, data: Mapping[str, Any], now: datetime) -> None:
    """A 容缺 case terminated because the promised supplement never came: credit record for the applicant."""
    if case.status != "terminated" or not data.get("supplement_overdue") or case.originator_id is None:
        return
    reason = str(data.get("terminated_reason") or "容缺受理承诺的补正期限届满，申请人未补齐材料")
    record_credit(session, case.originator_id, MISSED_SUPPLEMENT, f"{case.number}：{reason}", case, now)


def open_credit_records(session: Session, subject: User) -> list[CreditRecord]:
    """Unrepaired records of a subject (they block 容缺 and 告知承诺), newest first."""
    query = (
        select(CreditRecord)
        .where(CreditRecord.subject_id == subject.id, CreditRecord.repaired_at.is_(None))
        .order_by(CreditRecord.created_at.desc(), CreditRecord.id.desc())
    )
    return list(session.scalars(query))


def has_bad_credit(session: Session, subject: User) -> bool:
    """True while the subject has an unrepaired credit record."""
    return bool(open_credit_records(session, subject))


def repair_credit(session: Session, record_id: int, actor: User, note: str, now: datetime) -> CreditRecord:
    """信用修复: mark a record repaired (supervisors and administrators)."""
    record = session.get(CreditRecord, record_id)
    if record is None:
        raise NotFound("信用记录不存在")
    if not actor.role_codes() & {"supervisor", "admin"}:
        raise PermissionDenied("只有监察室或管理员可以修复信用")
    if record.repaired_at is None:
        record.repaired_at = now
        case = session.get(Case, record.case_id) if record.case_id else None
        record_event(session, case, actor, "credit.repaired", {"record": record.id, "note": note[:500]}, now)
        session.flush()
    return record
