"""What an applicant sees of a case: status and current step in plain words, timeline, days left, messages."""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AuditEvent, Case, HumanTask, Notification, User
from app.services.clocks import case_clock
from app.services.task_rows import MAX_PER_PAGE, Page

# BPMN step id -> what it means to an applicant (never the BPMN id).
PLAIN_STEPS = {
    "accept_application": "窗口受理中",
    "prereview_materials": "网上预审中",
    "lead_check": "牵头部门审查中",
    "member_review": "部门审查中",
    "lead_decision": "审批决定中",
    "approve_application": "部门审查中",
    "approve_immediately": "窗口审批中",
    "verify_supplements": "核验补正材料中",
    "issue_licence": "制证出件中",
    "deliver_refusal": "送达审批决定中",
    "verify_commitment": "事后核查中",
    "revoke_licence": "撤销许可处理中",
}
APPLICANT_STEPS = {
    "supplement_materials": "待您补正",
    "supplement_review_materials": "待您补正",
    "sign_promise": "待您签署容缺承诺书",
    "sign_commitment": "待您签署告知承诺书",
}
STATUS_WORDS = {
    "completed": "已办结",
    "terminated": "已终止",
    "withdrawn": "已撤回",
    "error": "系统处理中",
}
EVENT_WORDS = {
    "application.submitted": "提交申请",
    "case.withdrawn": "您撤回了申请",
    "message.delivered": "收到补交材料",
}


@dataclass(frozen=True)
class Summary:
    """One of my applications in a list."""

    case: Case
    stage: str
    my_tasks: tuple[HumanTask, ...]
    may_withdraw: bool


@dataclass(frozen=True)
class TimelineEntry:
    """One dated line of the applicant's timeline."""

    at: datetime
    text: str


@dataclass(frozen=True)
class Detail:
    """Everything the applicant's case view shows."""

    summary: Summary
    remaining_days: int | None
    promised_due: datetime | None
    timeline: list[TimelineEntry]
    messages: list[Notification]


@dataclass(frozen=True)
class PublicProgress:
    """The public answer: no names, no data, only where the case is."""

    number: str
    title: str
    stage: str
    submitted_at: datetime
    closed_at: datetime | None


def stage_of(case: Case, open_tasks: Sequence[HumanTask], applicant_id: int | None) -> str:
    """The case's status in plain words: 已办结 …, 待您补正 …, else the step being worked on."""
    if case.status != "open":
        return STATUS_WORDS.get(case.status, case.status)
    mine = [t for t in open_tasks if t.assignee_id == applicant_id and applicant_id is not None]
    if mine:
        return APPLICANT_STEPS.get(mine[0].bpmn_id, f"待您办理：{mine[0].name}")
    words = [PLAIN_STEPS.get(t.bpmn_id, "部门办理中") for t in open_tasks]
    return "、".join(dict.fromkeys(words)) or "办理中"


def _may_withdraw(case: Case, tasks: Sequence[HumanTask], applicant_id: int) -> bool:
    if case.status != "open":
        return False
    return not any(
        t.completed_by_id not in (None, applicant_id)
        or (t.state == "open" and t.assignee_id not in (None, applicant_id))
        for t in tasks
    )


def _summaries(session: Session, cases: Sequence[Case], applicant: User) -> list[Summary]:
    ids = [c.id for c in cases]
    tasks: dict[int, list[HumanTask]] = {i: [] for i in ids}
    if ids:
        rows = session.scalars(select(HumanTask).where(HumanTask.case_id.in_(ids)).order_by(HumanTask.id))
        for task in rows:
            tasks[task.case_id].append(task)
    result = []
    for case in cases:
        open_tasks = [t for t in tasks[case.id] if t.state == "open"]
        mine = tuple(t for t in open_tasks if t.assignee_id == applicant.id)
        stage = stage_of(case, open_tasks, applicant.id)
        result.append(Summary(case, stage, mine, _may_withdraw(case, tasks[case.id], applicant.id)))
    return result


def my_applications(session: Session, applicant: User, page: int, per_page: int) -> Page[Summary]:
    """My applications, newest first, each with its plain-words stage and my open tasks."""
    page, per_page = max(1, page), min(max(1, per_page), MAX_PER_PAGE)
    query = select(Case).where(Case.originator_id == applicant.id, Case.kind == "application")
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    cases = list(
        session.scalars(query.order_by(Case.id.desc()).limit(per_page).offset((page - 1) * per_page))
    )
    return Page(_summaries(session, cases, applicant), page, per_page, total)


def _timeline(session: Session, case: Case) -> list[TimelineEntry]:
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.created_at, AuditEvent.id)
    )
    names = {str(s["bpmn_id"]): str(s.get("name") or "") for s in case.process_version.steps}
    entries: list[TimelineEntry] = []
    for event in events:
        if event.action == "task.completed":
            step = str((event.detail or {}).get("task") or "")
            entries.append(TimelineEntry(event.created_at, f"{names.get(step, '办理环节')}：已办理"))
        elif event.action in EVENT_WORDS:
            entries.append(TimelineEntry(event.created_at, EVENT_WORDS[event.action]))
    if case.closed_at is not None and case.status in STATUS_WORDS:
        entries.append(TimelineEntry(case.closed_at, STATUS_WORDS[case.status]))
    return entries


def application_detail(session: Session, case: Case, applicant: User, now: datetime) -> Detail:
    """The applicant's view of their case (the caller checked it is theirs)."""
    summary = _summaries(session, [case], applicant)[0]
    clock = case_clock(session, case, now) if case.service_item_id is not None else None
    messages = session.scalars(
        select(Notification)
        .where(Notification.user_id == applicant.id, Notification.case_id == case.id)
        .order_by(Notification.created_at.desc())
        .limit(50)
    )
    return Detail(
        summary=summary,
        remaining_days=clock.remaining if clock and case.status == "open" else None,
        promised_due=case.promised_due_at,
        timeline=_timeline(session, case),
        messages=list(messages),
    )


def public_progress(session: Session, number: str, phone_last4: str) -> PublicProgress | None:
    """Progress by case number + last 4 digits of the applicant's phone; None for any mismatch alike."""
    number, digits = (number or "").strip()[:32], (phone_last4 or "").strip()
    case = session.scalar(select(Case).where(Case.number == number, Case.kind == "application"))
    phone = str((case.data or {}).get("phone") or "") if case is not None else ""
    expected = phone[-4:] if len(phone) >= 4 else "\x00" * 4  # never equal to 4 typed characters
    matches = hmac.compare_digest(expected.encode(), digits.encode())
    if case is None or not matches or not (len(digits) == 4 and digits.isdigit()):
        return None
    open_tasks = (
        []
        if case.status != "open"
        else list(
            session.scalars(select(HumanTask).where(HumanTask.case_id == case.id, HumanTask.state == "open"))
        )
    )
    stage = stage_of(case, open_tasks, case.originator_id)
    return PublicProgress(case.number, case.title, stage, case.created_at, case.closed_at)
