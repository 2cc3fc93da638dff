"""Anomaly rules about how a case ended: 容缺 supplement overdue, 告知承诺 verification, missing result."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.models import AuditEvent, Case, HumanTask, OutboxEvent
from app.services.anomaly_rules import (
    FALSE_COMMITMENT_STEPS,
    LOOKBACK,
    RESULT_KEYS,
    Finding,
    fmt,
    not_flagged,
    recently_completed,
    refused_cases,
)

_ISSUES = HumanTask.properties["issuesLicence"].as_string()


def supplement_overdue(session: Session, now: datetime) -> list[Finding]:
    """容缺受理: the promised supplement deadline passed (data flag or terminated by the timer)."""
    query = select(Case.id, Case.closed_at, Case.data).where(
        Case.status == "terminated", Case.closed_at >= now - LOOKBACK, not_flagged("supplement_overdue")
    )
    rows = list(session.execute(query))
    by_timer = _terminated_by_timer(session, [r.id for r in rows])
    findings = []
    for row in rows:
        if not (row.data or {}).get("supplement_overdue") and row.id not in by_timer:
            continue
        text = f"容缺受理承诺的补正期限届满未补齐材料，办件于 {fmt(row.closed_at)} 终止"
        findings.append(Finding(row.id, text, {"closed_at": row.closed_at.isoformat()}))
    return findings


def _terminated_by_timer(session: Session, case_ids: list[int]) -> set[int]:
    if not case_ids:
        return set()
    query = select(AuditEvent.case_id, AuditEvent.detail).where(
        AuditEvent.case_id.in_(case_ids), AuditEvent.action == "timer.fired"
    )
    return {
        case_id for case_id, detail in session.execute(query) if (detail or {}).get("status") == "terminated"
    }


def commitment_verification_overdue(session: Session, now: datetime) -> list[Finding]:
    """告知承诺: the post-approval verification is overdue (verification_overdue event)."""
    event = exists(
        select(OutboxEvent.id).where(
            OutboxEvent.case_id == Case.id, OutboxEvent.kind == "verification_overdue"
        )
    )
    query = select(Case.id).where(event, not_flagged("commitment_verification_overdue"))
    text = "告知承诺事后核查超过核查期限仍未完成"
    return [Finding(case_id, text, {"event": "verification_overdue"}) for case_id in session.scalars(query)]


def commitment_false(session: Session, now: datetime) -> list[Finding]:
    """告知承诺: verification found the commitment false (licence revocation step reached)."""
    revoke = exists(
        select(HumanTask.id).where(
            HumanTask.case_id == Case.id, HumanTask.bpmn_id.in_(FALSE_COMMITMENT_STEPS)
        )
    )
    query = select(Case.id).where(revoke, not_flagged("commitment_false"))
    text = "告知承诺事后核查发现承诺不实，已进入撤销许可程序"
    return [
        Finding(case_id, text, {"steps": list(FALSE_COMMITMENT_STEPS)}) for case_id in session.scalars(query)
    ]


def closed_without_result(session: Session, now: datetime) -> list[Finding]:
    """A completed application with no result: no licence step, refusal or result document."""
    issued = exists(
        select(HumanTask.id).where(
            HumanTask.case_id == Case.id, HumanTask.state == "completed", _ISSUES == "true"
        )
    )
    rows = [
        row
        for row in session.execute(recently_completed("closed_without_result", now).where(~issued))
        if not any((row.data or {}).get(key) for key in RESULT_KEYS)
    ]
    refused = refused_cases(session, [row.id for row in rows])
    text = "办件已办结，但没有出件（证照或结果文书）记录，也没有不予受理或不予许可决定"
    return [
        Finding(row.id, text, {"closed_at": row.closed_at.isoformat()})
        for row in rows
        if row.id not in refused
    ]
