"""The anomaly rules (异常办件): each a set-based query plus a Chinese explanation naming the facts.

Each rule returns `Finding`s for cases it has not flagged yet (NOT EXISTS on the (case, rule) key).
Rules about closed cases look at cases closed in the last LOOKBACK (the job runs every 15 minutes).

Result-document rule (`closed_without_result`): a completed `application` case has a result when a step
marked `issuesLicence=true` was completed (统一出件 / 出件 / 当场审批发证 in the shipped diagrams), when it
ended in a refusal, denial or decline (the 不予受理 / 不予许可 notice is its result), or when its case data
names `result_document(s)` or `licence`. Every path of the shipped diagrams satisfies this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from app.models import Anomaly, Case, HumanTask, Opinion, ProcessVersion
from app.services.runtime import local_day, local_minutes, version_form, working_calendar

LOOKBACK = timedelta(days=7)
TOO_FAST = timedelta(minutes=5)
REFUSALS = {"refuse": "不予受理", "deny": "不予许可", "reject": "退单", "return_order": "退单"}
NO_RESULT_DECISIONS = ("refuse", "deny", "decline", "not_accepted", "withdraw")
HOTLINE_RETURNS = ("reject", "return_order")
FALSE_COMMITMENT_STEPS = ("revoke_licence",)
RESULT_KEYS = ("result_document", "result_documents", "licence")
_PAUSES = HumanTask.properties["pausesClock"].as_string()


@dataclass(frozen=True)
class Finding:
    """A rule fired on a case, with why."""

    case_id: int
    explanation: str
    facts: dict[str, Any] = field(default_factory=dict)


def fmt(moment: datetime | None, seconds: bool = False) -> str:
    """Local time to the minute; to the second where the explanation compares close instants."""
    if moment is None:
        return "—"
    if not seconds:
        return local_minutes(moment)
    return moment.astimezone(working_calendar().tz).strftime("%Y-%m-%d %H:%M:%S")


def not_flagged(rule: str) -> Any:
    """SQL: the case has no anomaly of this rule yet."""
    return ~exists(select(Anomaly.id).where(Anomaly.case_id == Case.id, Anomaly.rule_code == rule))


def _first_per_case(rows: Iterable[Any]) -> list[Any]:
    seen: dict[int, Any] = {}
    for row in rows:
        seen.setdefault(row.case_id, row)
    return list(seen.values())


def step_overdue(session: Session, now: datetime) -> list[Finding]:
    """A step open past its limit, or completed after it."""
    late = or_(
        and_(HumanTask.state == "open", HumanTask.due_at < now),
        and_(HumanTask.completed_at > HumanTask.due_at, HumanTask.completed_at >= now - LOOKBACK),
    )
    first = func.row_number().over(partition_by=HumanTask.case_id, order_by=HumanTask.id).label("n")
    late_steps = (
        select(
            HumanTask.case_id, HumanTask.id, HumanTask.name, HumanTask.due_at, HumanTask.completed_at, first
        )
        .join(Case, Case.id == HumanTask.case_id)
        .where(HumanTask.due_at.is_not(None), late, not_flagged("step_overdue"))
        .subquery()
    )
    columns = [late_steps.c[name] for name in ("case_id", "id", "name", "due_at", "completed_at")]
    query = select(*columns).where(late_steps.c.n == 1).order_by(late_steps.c.case_id)  # first per case
    findings = []
    dues: dict[datetime, tuple[str, str]] = {}  # due dates repeat: format each once
    for case_id, task_id, name, due_at, completed_at in session.execute(query):
        if due_at not in dues:
            dues[due_at] = (local_day(due_at), due_at.isoformat())
        due, due_iso = dues[due_at]
        done = f"于 {fmt(completed_at)} 才办结" if completed_at else "至今未办结"
        text = f"步骤『{name}』办理期限为 {due}，{done}，超过步骤时限"
        findings.append(Finding(case_id, text, {"task": task_id, "step": name, "due_at": due_iso}))
    return findings


def _has_reason_field(version: ProcessVersion, form: str | None) -> bool:
    """The step's form has a reason field (e.g. refuse_reasons): the form validation made it required."""
    schema = version_form(version, form) if form else None
    properties = schema.schema.get("properties", {}) if schema is not None else {}
    return any("reason" in name for name in properties)


def refusal_without_reason(session: Session, now: datetime) -> list[Finding]:
    """A refusal, denial or 退单 recorded with no reason (no opinion text, no reason field in its form)."""
    query = (
        select(Opinion.case_id, Opinion.step_name, Opinion.decision, Opinion.created_at, HumanTask.form)
        .add_columns(ProcessVersion)
        .join(Case, Case.id == Opinion.case_id)
        .join(ProcessVersion, ProcessVersion.id == Case.process_version_id)
        .outerjoin(HumanTask, HumanTask.id == Opinion.human_task_id)
        .where(
            Opinion.decision.in_(REFUSALS),
            func.trim(Opinion.text) == "",
            Opinion.created_at >= now - LOOKBACK,
            not_flagged("refusal_without_reason"),
        )
        .order_by(Opinion.case_id, Opinion.id)
    )
    findings = []
    for row in _first_per_case(session.execute(query)):
        if _has_reason_field(row.ProcessVersion, row.form):
            continue
        name = REFUSALS[row.decision]
        text = f"步骤『{row.step_name}』于 {fmt(row.created_at)} 作出{name}决定，未说明理由"
        findings.append(Finding(row.case_id, text, {"step": row.step_name, "decision": row.decision}))
    return findings


def refused_cases(session: Session, case_ids: list[int]) -> set[int]:
    if not case_ids:
        return set()
    query = select(HumanTask.case_id).where(
        HumanTask.case_id.in_(case_ids), HumanTask.decision.in_(NO_RESULT_DECISIONS)
    )
    return set(session.scalars(query))


def recently_completed(rule: str, now: datetime) -> Select[Any]:
    return select(Case.id, Case.created_at, Case.closed_at, Case.data).where(
        Case.status == "completed",
        Case.kind == "application",
        Case.closed_at >= now - LOOKBACK,
        not_flagged(rule),
    )


def closed_too_fast(session: Session, now: datetime) -> list[Finding]:
    """An application completed within 5 minutes of being received (not a refusal at the window)."""
    rows = [
        r
        for r in session.execute(recently_completed("closed_too_fast", now))
        if r.closed_at >= r.created_at and r.closed_at - r.created_at < TOO_FAST
    ]
    refused = refused_cases(session, [r.id for r in rows])
    findings = []
    for row in rows:
        if row.id in refused:
            continue
        seconds = int((row.closed_at - row.created_at).total_seconds())
        text = (
            f"办件于 {fmt(row.created_at, True)} 受理，{fmt(row.closed_at, True)} 即办结，仅用时{seconds}秒"
        )
        findings.append(Finding(row.id, text, {"seconds": seconds}))
    return findings


def timestamps_out_of_order(session: Session, now: datetime) -> list[Finding]:
    """Closed before created, a step completed before it was created, or a step older than its case."""
    findings: dict[int, Finding] = {}
    cases = select(Case.id, Case.created_at, Case.closed_at).where(
        Case.closed_at < Case.created_at, not_flagged("timestamps_out_of_order")
    )
    for row in session.execute(cases):
        text = f"办件办结时间 {fmt(row.closed_at, True)} 早于受理时间 {fmt(row.created_at, True)}"
        findings[row.id] = Finding(row.id, text, {"field": "case.closed_at"})
    tasks = (
        select(HumanTask.case_id, HumanTask.name, HumanTask.created_at, HumanTask.completed_at)
        .add_columns(Case.created_at.label("case_created"))
        .join(Case, Case.id == HumanTask.case_id)
        .where(
            or_(HumanTask.completed_at < HumanTask.created_at, HumanTask.created_at < Case.created_at),
            not_flagged("timestamps_out_of_order"),
        )
    )
    for row in session.execute(tasks):
        if row.completed_at is not None and row.completed_at < row.created_at:
            done, arrived = fmt(row.completed_at, True), fmt(row.created_at, True)
            text = f"步骤『{row.name}』办结时间 {done} 早于到达时间 {arrived}"
        else:
            arrived, accepted = fmt(row.created_at, True), fmt(row.case_created, True)
            text = f"步骤『{row.name}』到达时间 {arrived} 早于办件受理时间 {accepted}"
        findings.setdefault(row.case_id, Finding(row.case_id, text, {"step": row.name}))
    return list(findings.values())


def repeated_supplement(session: Session, now: datetime) -> list[Finding]:
    """补正 asked twice or more on one case."""
    query = (
        select(HumanTask.case_id, func.count())
        .join(Case, Case.id == HumanTask.case_id)
        .where(_PAUSES == "补正", HumanTask.state == "completed", not_flagged("repeated_supplement"))
        .group_by(HumanTask.case_id)
        .having(func.count() >= 2)
    )
    return [
        Finding(case_id, f"同一办件已补正{count}次（一次性告知要求一次告知全部需补正材料）", {"count": count})
        for case_id, count in session.execute(query)
    ]


def repeated_return(session: Session, now: datetime) -> list[Finding]:
    """退回 three times or more on one case."""
    query = (
        select(Opinion.case_id, func.count())
        .join(Case, Case.id == Opinion.case_id)
        .where(Opinion.decision == "return", not_flagged("repeated_return"))
        .group_by(Opinion.case_id)
        .having(func.count() >= 3)
    )
    return [Finding(c, f"同一办件已被退回{n}次", {"count": n}) for c, n in session.execute(query)]


def hotline_repeated_return(session: Session, now: datetime) -> list[Finding]:
    """A 12345 work order sent back (退单) more than twice."""
    query = (
        select(Opinion.case_id, func.count())
        .join(Case, Case.id == Opinion.case_id)
        .where(
            Case.kind == "work_order",
            Opinion.decision.in_(HOTLINE_RETURNS),
            not_flagged("hotline_repeated_return"),
        )
        .group_by(Opinion.case_id)
        .having(func.count() > 2)
    )
    return [
        Finding(c, f"12345 工单已被退单{n}次（超过 2 次）", {"count": n}) for c, n in session.execute(query)
    ]


Rule = Callable[[Session, datetime], list[Finding]]
