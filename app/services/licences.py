"""电子证照: issued when a step with `issuesLicence=true` completes, revoked on a false commitment,
verified publicly by code, reused by the holder as application material.

Hooks (each one additive line at the engine's call sites):
- `on_task_completed` from `app.services.cases.complete_task` — issues licences, revokes them when
  commitment_approval's `revoke_licence` completes (commitment_false), writes credit records for a
  terminated 容缺 case, invites a re-rating when a 差评 rectification case ends;
- `on_timers_fired` from `app.services.timers.fire_case_timers` — a 容缺 deadline missed ends the case
  by timer (supplement_overdue) → credit record missed_supplement.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.models import Case, HumanTask, Licence, User
from app.services.audit import record_event
from app.services.case_views import case_data
from app.services.credit import FALSE_COMMITMENT, record_credit, record_missed_supplement
from app.services.errors import NotFound
from app.services.notifications import notify
from app.services.numbers import next_in_sequence
from app.services.runtime import working_calendar

ISSUES_LICENCE = "issuesLicence"
REVOKE_STEP = "revoke_licence"
DEFAULT_VALID_YEARS = 5
DEFAULT_ISSUER = "高新区政务服务中心"
CLOSED = frozenset({"completed", "terminated"})


def applicant_licences(session: Session, applicant: User, licence_type: str | None) -> list[Licence]:
    """Valid, unexpired licences of a holder (of one type when given), newest first — for reuse."""
    now = datetime.now(UTC)
    query = select(Licence).where(
        Licence.holder_id == applicant.id,
        Licence.status == "valid",
        or_(Licence.valid_until.is_(None), Licence.valid_until > now),
    )
    if licence_type:
        query = query.where(Licence.licence_type == licence_type)
    return list(session.scalars(query.order_by(Licence.issued_at.desc(), Licence.id.desc())))


def holder_licences(session: Session, holder: User) -> list[Licence]:
    """Every licence of a holder (any status), newest first."""
    query = select(Licence).where(Licence.holder_id == holder.id)
    return list(session.scalars(query.order_by(Licence.issued_at.desc(), Licence.id.desc())))


def case_licences(session: Session, case: Case) -> list[Licence]:
    """The licences a case issued (any status), oldest first."""
    return list(session.scalars(select(Licence).where(Licence.case_id == case.id).order_by(Licence.id)))


def licence_for_holder(session: Session, licence_id: int, actor: User) -> Licence:
    """A licence of the actor; NotFound for every other licence (its existence is not disclosed)."""
    licence = session.get(Licence, licence_id)
    if licence is None or licence.holder_id != actor.id:
        raise NotFound("证照不存在 (no such licence)")
    return licence


def licence_by_code(session: Session, code: str) -> Licence:
    """A licence by its public verification code, or NotFound."""
    licence = session.scalar(select(Licence).where(Licence.verification_code == code[:40]))
    if licence is None:
        raise NotFound("未找到该证照 (no licence with this verification code)")
    return licence


def effective_status(licence: Licence, now: datetime) -> str:
    """valid / revoked / expired — a valid licence past its date reads as expired."""
    if licence.status == "valid" and licence.valid_until is not None and licence.valid_until <= now:
        return "expired"
    return licence.status


def issuing_department(session: Session, licence: Licence) -> str:
    """Name of the department of the item the licence was issued for (or the service centre)."""
    case = session.get(Case, licence.case_id) if licence.case_id else None
    item = case.service_item if case else None
    return item.department.name if item is not None else DEFAULT_ISSUER


def mask_name(name: str) -> str:
    """星辰科技有限公司 → 星辰***司; 张三 → 张*; keeps no more than three characters."""
    name = name.strip()
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    if len(name) == 3:
        return name[0] + "*" + name[-1]
    return name[:2] + "***" + name[-1]


def holder_name_of(holder: User) -> str:
    """The name on the licence: the organisation in 全角 brackets of a display name, else the name."""
    name = holder.display_name.strip()
    if name.endswith("）") and "（" in name:
        inner = name[name.rindex("（") + 1 : -1].strip()
        if inner:
            return inner[:200]
    return name[:200]


def _valid_until(case: Case, data: Mapping[str, Any], now: datetime) -> datetime | None:
    calendar = working_calendar()
    raw = data.get("valid_until")
    if isinstance(raw, str) and raw:
        try:
            return datetime.combine(date.fromisoformat(raw), time(23, 59, 59), calendar.tz)
        except ValueError:
            pass
    settings = case.service_item.settings if case.service_item else {}
    years = settings.get("licence_valid_years", DEFAULT_VALID_YEARS)
    if years in (None, 0, "0", ""):
        return None
    today = calendar.local_date(now)
    try:
        end = today.replace(year=today.year + int(years))
    except ValueError:  # 29 February
        end = today.replace(year=today.year + int(years), day=28)
    return datetime.combine(end - timedelta(days=1), time(23, 59, 59), calendar.tz)


def licence_type_for(case: Case) -> str:
    """The item's `licence_type` setting, else the item's name, else the case title."""
    item = case.service_item
    if item is not None:
        return str(item.settings.get("licence_type") or item.name)[:80]
    return case.title[:80]


def issue_licence(session: Session, case: Case, data: Mapping[str, Any], now: datetime) -> Licence | None:
    """Issue the case's licence (once per case) to its originator: GX-<year>-<seq>, random code."""
    holder = case.originator
    if holder is None:
        return None
    existing = session.scalar(select(Licence).where(Licence.case_id == case.id).limit(1))
    if existing is not None:
        return existing
    year = working_calendar().local_date(now).year
    licence = Licence(
        holder_id=holder.id,
        holder_name=holder_name_of(holder),
        licence_type=licence_type_for(case),
        number=f"GX-{year}-{next_in_sequence(session, 'licence', year):06d}",
        case_id=case.id,
        issued_at=now,
        valid_until=_valid_until(case, data, now),
        status="valid",
        verification_code=secrets.token_urlsafe(18),  # 24 URL-safe characters
    )
    session.add(licence)
    session.flush()
    record_event(session, case, None, "licence.issued", {"licence": licence.number}, now)
    title = f"电子证照已签发：{licence.licence_type} {licence.number}"
    notify(session, holder.id, "licence.issued", title, "", "/licences", case.id, now)
    return licence


def revoke_case_licences(session: Session, case: Case, reason: str, now: datetime) -> list[Licence]:
    """Revoke every valid licence the case issued and tell the holder."""
    query = select(Licence).where(Licence.case_id == case.id, Licence.status == "valid")
    revoked = list(session.scalars(query))
    for licence in revoked:
        licence.status, licence.revoked_at, licence.revoke_reason = "revoked", now, reason[:2000]
        record_event(session, case, None, "licence.revoked", {"licence": licence.number}, now)
        title = f"电子证照已撤销：{licence.licence_type} {licence.number}"
        notify(session, licence.holder_id, "licence.revoked", title, reason[:500], "/licences", case.id, now)
    session.flush()
    return revoked


def on_task_completed(session: Session, case: Case, task: HumanTask, now: datetime) -> None:
    """After an engine step: licences, revocation + credit, credit for terminated 容缺 cases, re-rating."""
    revoking, issuing = task.bpmn_id == REVOKE_STEP, task.properties.get(ISSUES_LICENCE) == "true"
    if not issuing and not revoking and case.status not in CLOSED:
        return
    # reading the workflow data deserializes the case state: only when a hook below reads it (an
    # ordinary completed case only goes to the re-rating hook, which needs no data)
    needs_data = issuing or revoking or (case.status == "terminated" and case.originator_id is not None)
    data = case_data(case) if needs_data else {}
    if issuing:
        issue_licence(session, case, data, now)
    if revoking and data.get("commitment_false"):
        reason = str(data.get("revocation_reason") or "承诺不实，依法撤销行政许可")
        revoke_case_licences(session, case, reason, now)
        if case.originator_id is not None:
            record_credit(
                session, case.originator_id, FALSE_COMMITMENT, f"{case.number}：{reason}", case, now
            )
    if case.status in CLOSED:
        _on_case_closed(session, case, data, now)


def on_timers_fired(session: Session, case: Case, now: datetime) -> None:
    """After timers fired: a case that just ended (容缺 deadline missed) gets its credit record."""
    if case.status in CLOSED:
        _on_case_closed(session, case, case_data(case), now)


def _on_case_closed(session: Session, case: Case, data: Mapping[str, Any], now: datetime) -> None:
    record_missed_supplement(session, case, data, now)
    from app.services.evaluations import on_rectification_closed  # evaluations starts cases itself

    on_rectification_closed(session, case, now)


@dataclass(frozen=True)
class LicenceSheet:
    """What the licence PDF shows (the web layer passes the absolute verification URL)."""

    licence_type: str
    number: str
    holder_name: str
    issuer: str
    issued_on: str
    valid_until: str
    status_label: str
    verification_code: str
    verify_url: str


STATUS_LABELS = {"valid": "有效", "revoked": "已撤销", "expired": "已过期"}


def licence_sheet(session: Session, licence: Licence, verify_url: str, now: datetime) -> LicenceSheet:
    """What the licence PDF shows, dates in local time; `verify_url` is absolute (from the web layer)."""
    calendar = working_calendar()
    until = licence.valid_until
    return LicenceSheet(
        licence_type=licence.licence_type,
        number=licence.number,
        holder_name=licence.holder_name,
        issuer=issuing_department(session, licence),
        issued_on=calendar.local_date(licence.issued_at).isoformat(),
        valid_until=calendar.local_date(until).isoformat() if until else "长期",
        status_label=STATUS_LABELS[effective_status(licence, now)],
        verification_code=licence.verification_code,
        verify_url=verify_url,
    )
