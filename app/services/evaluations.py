"""好差评: one rating per closed case on the national indicators; 差评 (overall ≤ 2) starts the
evaluation_rectification process for the responsible department; invitations; appeals (申诉复核).

Appeal outcome: `upheld` = the supervision office agrees the rating was malicious (excluded from the
department's statistics); `rejected` = the rating stands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.models import AuditEvent, Case, Evaluation, HumanTask, Notification, User
from app.services.audit import record_event
from app.services.directory import role_holders
from app.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from app.services.notifications import notify, notify_many

RECTIFICATION_PROCESS = "evaluation_rectification"
REVISIT_STEP = "revisit_applicant"
INDICATORS: tuple[tuple[str, str], ...] = (
    ("overall", "整体满意度"),
    ("efficiency", "办事效率"),
    ("guide_accuracy", "办事指南精确度"),
    ("convenience", "办事便捷度"),
    ("usability", "平台操作性"),
)
LEVELS: dict[int, str] = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
BAD_RATING = 2  # 不满意 / 非常不满意
INVITE_AFTER = timedelta(days=3)
INVITE_WINDOW = timedelta(days=30)  # cases closed longer ago are not invited any more
INVITE_KIND = "evaluation.invite"
RERATE_KIND = "evaluation.rerate"
RATEABLE = frozenset({"completed", "terminated"})
MAX_COMMENT = 1000
INVITATIONS_LOCK = 7_310_101  # pg advisory lock key of the evaluation_invitations job


def evaluation_of(session: Session, case: Case) -> Evaluation | None:
    """The case's evaluation, if any."""
    return session.scalar(select(Evaluation).where(Evaluation.case_id == case.id))


def may_rerate(session: Session, evaluation: Evaluation) -> bool:
    """A 差评 may be rated once more after its rectification case has ended."""
    if evaluation.rectification_case_id is None:
        return False
    rectification = session.get(Case, evaluation.rectification_case_id)
    if rectification is None or rectification.status != "completed":
        return False
    rerated = exists().where(
        AuditEvent.case_id == evaluation.case_id, AuditEvent.action == "evaluation.rerated"
    )
    return not session.scalar(select(rerated))


def check_may_evaluate(session: Session, case: Case, actor: User) -> Evaluation | None:
    """403 unless the actor is the applicant of a closed case; 409 if rated (and no re-rating is due)."""
    if case.originator_id != actor.id:
        raise PermissionDenied("只有本办件的申请人可以评价 (only the applicant may rate this case)")
    if case.status not in RATEABLE:
        raise PermissionDenied("办件办结后才能评价 (the case is not closed yet)")
    existing = evaluation_of(session, case)
    if existing is not None and not may_rerate(session, existing):
        raise Conflict("此办件已评价 (this case has already been rated)")
    return existing


def _clean_scores(overall: Any, scores: Mapping[str, Any]) -> tuple[int, dict[str, int]]:
    values = {"overall": overall, **{k: v for k, v in scores.items() if k != "overall"}}
    errors: dict[str, str] = {}
    clean: dict[str, int] = {}
    for key, label in INDICATORS:
        raw = values.get(key)
        try:
            number = int(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else 0
        except (TypeError, ValueError):
            number = 0
        if number not in LEVELS:
            errors[key] = f"请为“{label}”选择 1–5 分"
        clean[key] = number
    unknown = sorted(set(values) - {key for key, _ in INDICATORS})
    if unknown:
        errors["_form"] = f"未知的评价指标：{'、'.join(unknown)}"
    if errors:
        raise InvalidInput("评价填写不完整", errors)
    return clean.pop("overall"), clean


def evaluate_case(
    session: Session,
    case: Case,
    actor: User,
    overall: Any,
    scores: Mapping[str, Any],
    comment: str,
    now: datetime,
) -> Evaluation:
    """Rate a closed case (applicant only, once; once more after a rectification); 差评 → rectification."""
    existing = check_may_evaluate(session, case, actor)
    level, clean = _clean_scores(overall, scores)
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidInput("评价内容过长", {"comment": f"不能超过 {MAX_COMMENT} 个字符"})
    if existing is not None:  # re-rating after rectification
        before = existing.overall
        existing.overall, existing.scores, existing.comment = level, clean, comment
        record_event(session, case, actor, "evaluation.rerated", {"before": before, "overall": level}, now)
        session.flush()
        return existing
    evaluation = Evaluation(
        case_id=case.id, user_id=actor.id, overall=level, scores=clean, comment=comment, created_at=now
    )
    session.add(evaluation)
    session.flush()
    record_event(session, case, actor, "evaluation.rated", {"overall": level}, now)
    if level <= BAD_RATING:
        start_rectification(session, evaluation, case, now)
    session.flush()
    return evaluation


def responsible_department(session: Session, case: Case) -> str | None:
    """The item's department; else the case's lead department; else the first department that worked it."""
    if case.service_item is not None:
        return case.service_item.department.code
    lead = (case.data or {}).get("lead_dept")
    if isinstance(lead, str) and lead:
        return lead
    query = select(HumanTask.candidate_department).where(
        HumanTask.case_id == case.id, HumanTask.candidate_department.is_not(None)
    )
    return session.scalar(query.order_by(HumanTask.id).limit(1))


def start_rectification(session: Session, evaluation: Evaluation, case: Case, now: datetime) -> Case | None:
    """Start evaluation_rectification for the responsible department and link it to the evaluation."""
    from app.services.cases import start_case  # cases → licences → evaluations: import at call time

    dept = responsible_department(session, case)
    if dept is None:
        record_event(session, case, None, "evaluation.no_department", {}, now)
        return None
    data = {
        "dept": dept,
        "evaluated_case": case.number,
        "overall": evaluation.overall,
        "comment": evaluation.comment[:500],
    }
    title = f"差评整改：{case.number} {case.title}"[:300]
    meta = {"evaluated_case": case.number, "dept": dept}
    rectification = start_case(
        session, RECTIFICATION_PROCESS, data, None, now, kind="rectification", title=title, meta=meta
    )
    evaluation.rectification_case_id = rectification.id
    record_event(session, case, None, "evaluation.rectification", {"case": rectification.number}, now)
    heads = role_holders(session, "dept_head", dept)
    body = f"评价：{LEVELS[evaluation.overall]}。{evaluation.comment[:200]}"
    link = f"/cases/{rectification.number}"
    notify_many(session, heads, "evaluation.bad", f"差评待整改：{case.number}", body, link, case.id, now)
    return rectification


def on_rectification_closed(session: Session, case: Case, now: datetime) -> None:
    """When a rectification case ends: invite the applicant to rate the original case again."""
    if case.process_version.process_id != RECTIFICATION_PROCESS or case.status != "completed":
        return
    evaluation = session.scalar(select(Evaluation).where(Evaluation.rectification_case_id == case.id))
    if evaluation is None:
        return
    rated = session.get_one(Case, evaluation.case_id)
    title = f"整改已完成，欢迎重新评价：{rated.number}"
    link = f"/cases/{rated.number}/evaluation"
    notify(session, evaluation.user_id, RERATE_KIND, title, "", link, rated.id, now)


@dataclass(frozen=True)
class FollowUp:
    """Where a 差评's rectification stands, for the applicant: 整改中 → 待回访 → 已回访."""

    stage: str  # rectifying | revisiting | revisited
    due_at: datetime | None  # the open step's time limit
    revisited_at: datetime | None


FOLLOW_UP_STAGES: tuple[tuple[str, str], ...] = (
    ("rectifying", "整改中"),
    ("revisiting", "待回访"),
    ("revisited", "已回访"),
)


def follow_up(session: Session, rectification: Case) -> FollowUp:
    """The rectification case's stage from its steps (the revisit step open → 待回访; ended → 已回访)."""
    tasks = list(
        session.scalars(select(HumanTask).where(HumanTask.case_id == rectification.id).order_by(HumanTask.id))
    )
    visits = [t for t in tasks if t.bpmn_id == REVISIT_STEP and t.state == "completed"]
    if rectification.status != "open":
        return FollowUp("revisited", None, visits[-1].completed_at if visits else rectification.closed_at)
    current = next((t for t in reversed(tasks) if t.state == "open"), None)
    stage = "revisiting" if current is not None and current.bpmn_id == REVISIT_STEP else "rectifying"
    return FollowUp(stage, current.due_at if current else None, None)


def invite_unrated(session: Session, now: datetime) -> int:
    """Invite applicants of cases closed ≥ 3 days ago with no rating (one invitation per case)."""
    invited = exists().where(Notification.case_id == Case.id, Notification.kind == INVITE_KIND)
    rated = exists().where(Evaluation.case_id == Case.id)
    query = (
        select(Case.id, Case.number, Case.title, Case.originator_id)
        .where(
            Case.kind == "application",
            Case.status.in_(sorted(RATEABLE)),
            Case.originator_id.is_not(None),
            Case.closed_at <= now - INVITE_AFTER,
            Case.closed_at > now - INVITE_WINDOW,
            ~rated,
            ~invited,
        )
        .order_by(Case.id)
        .limit(1000)
    )
    rows = session.execute(query).all()
    for case_id, number, title, user_id in rows:
        link = f"/cases/{number}/evaluation"
        notify(session, user_id, INVITE_KIND, f"请对办件 {number} 作出评价", title, link, case_id, now)
    return len(rows)


def _evaluation(session: Session, case: Case) -> Evaluation:
    evaluation = evaluation_of(session, case)
    if evaluation is None:
        raise NotFound("此办件尚无评价")
    return evaluation


def appeal_evaluation(session: Session, case: Case, actor: User, reason: str, now: datetime) -> Evaluation:
    """申诉复核: the responsible department's head appeals a malicious 差评 to the supervision office."""
    evaluation = _evaluation(session, case)
    dept = responsible_department(session, case)
    if dept is None or not actor.has_role("dept_head", dept):
        raise PermissionDenied("只有责任部门负责人可以申诉 (only the responsible department head)")
    if evaluation.overall > BAD_RATING:
        raise Conflict("只有差评可以申诉")
    if evaluation.appeal_status is not None:
        raise Conflict("此评价已申诉 (already appealed)")
    if not reason.strip():
        raise InvalidInput("请填写申诉理由", {"reason": "必填"})
    evaluation.appeal_status = "pending"
    record_event(session, case, actor, "evaluation.appealed", {"reason": reason.strip()[:1000]}, now)
    supervisors = role_holders(session, "supervisor", None)
    link = f"/cases/{case.number}/evaluation"
    notify_many(
        session,
        supervisors,
        "evaluation.appeal",
        f"差评申诉待复核：{case.number}",
        reason[:200],
        link,
        case.id,
        now,
    )
    session.flush()
    return evaluation


def decide_appeal(
    session: Session, case: Case, actor: User, upheld: bool, note: str, now: datetime
) -> Evaluation:
    """The supervision office upholds (malicious rating) or rejects a pending appeal."""
    if "supervisor" not in actor.role_codes():
        raise PermissionDenied("只有监察室可以复核申诉")
    evaluation = _evaluation(session, case)
    if evaluation.appeal_status != "pending":
        raise Conflict("没有待复核的申诉")
    evaluation.appeal_status = "upheld" if upheld else "rejected"
    detail = {"outcome": evaluation.appeal_status, "note": note.strip()[:1000]}
    record_event(session, case, actor, "evaluation.appeal_decided", detail, now)
    dept = responsible_department(session, case)
    heads = role_holders(session, "dept_head", dept) if dept else []
    title = f"差评申诉{'成立' if upheld else '不成立'}：{case.number}"
    notify_many(
        session,
        heads,
        "evaluation.appeal",
        title,
        note[:200],
        f"/cases/{case.number}/evaluation",
        case.id,
        now,
    )
    session.flush()
    return evaluation
