"""BPMN timers and inbound messages for running cases."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager

from app.models import Case, User
from app.services.audit import record_event
from app.services.errors import Conflict, NotFound, WorkflowFailed
from app.services.licences import on_timers_fired
from app.services.projection import apply_result
from app.services.runtime import spec_ref, workflow_engine
from app.workflow import MessageNotExpected

DUE_BATCH = 200


def due_timer_case_ids(session: Session, now: datetime, limit: int = DUE_BATCH) -> list[int]:
    """Ids of open cases whose earliest timer is due (uses the next_timer_at index)."""
    query = (
        select(Case.id)
        .where(Case.next_timer_at <= now, Case.status == "open")
        .order_by(Case.next_timer_at)
        .limit(limit)
    )
    return list(session.scalars(query))


def _claim_case(session: Session, case_id: int, skip_locked: bool) -> Case | None:
    query = (
        select(Case)
        .join(Case.process_version)
        .options(contains_eager(Case.process_version))
        .where(Case.id == case_id)
        .with_for_update(of=Case, skip_locked=skip_locked)
        .execution_options(populate_existing=True)
    )
    return session.scalar(query)


def fire_case_timers(session: Session, case_id: int, now: datetime) -> bool:
    """Fire the due timers of one case; False if another worker holds it or nothing is due any more."""
    case = _claim_case(session, case_id, skip_locked=True)
    if case is None or case.status != "open" or case.next_timer_at is None or case.next_timer_at > now:
        return False
    result = workflow_engine().fire_timers(spec_ref(case.process_version), case.state, now)
    if result.status == "error":
        raise WorkflowFailed(result.error or "timer failed")
    apply_result(session, case, result, now)
    record_event(session, case, None, "timer.fired", {"status": result.status}, now)
    session.flush()
    on_timers_fired(session, case, now)  # 容缺 deadline missed → credit record
    return True


def mark_case_error(session: Session, case_id: int, message: str, now: datetime) -> None:
    """Park a case whose timer failed: status error with the message, retried after a fix."""
    case = session.get(Case, case_id)
    if case is None:
        return
    case.status = "error"
    case.error_message = message[:2000]
    case.updated_at = now
    record_event(session, case, None, "case.error", {"message": message[:500]}, now)
    session.flush()


def resume_case(session: Session, number: str, actor: User | None, now: datetime) -> Case:
    """Put an errored case back to open so the next timer run retries it."""
    case = session.scalar(select(Case).where(Case.number == number))
    if case is None:
        raise NotFound("办件不存在")
    if case.status != "error":
        raise Conflict("办件不处于错误状态")
    case.status, case.error_message, case.updated_at = "open", None, now
    record_event(session, case, actor, "case.resumed", {}, now)
    session.flush()
    return case


def deliver_message(
    session: Session, number: str, name: str, payload: Mapping[str, Any], actor: User | None, now: datetime
) -> Case:
    """Deliver an inbound BPMN message (e.g. materials_supplemented) to a case by number."""
    case_id = session.scalar(select(Case.id).where(Case.number == number))
    case = _claim_case(session, case_id, skip_locked=False) if case_id is not None else None
    if case is None:
        raise NotFound("办件不存在 (no such case)")
    if case.status != "open":
        raise Conflict("办件已结束，无法接收消息 (the case is not open)")
    try:
        result = workflow_engine().deliver_message(
            spec_ref(case.process_version), case.state, name, dict(payload), now
        )
    except MessageNotExpected as error:
        raise Conflict(f"办件未在等待消息 {name} (the case is not waiting for this message)") from error
    if result.status == "error":
        raise WorkflowFailed(f"消息处理失败：{result.error}")
    apply_result(session, case, result, now)
    record_event(session, case, actor, "message.delivered", {"name": name}, now)
    session.flush()
    return case
