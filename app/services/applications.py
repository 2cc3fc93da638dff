"""Applications (网上申请): drafts, the 容缺 / 告知承诺 rules, submission into a case (once per key)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import ApplicationDraft, Case, CreditRecord, ServiceItem, User
from app.services.application_forms import MODES, start_form
from app.services.audit import record_event
from app.services.cases import start_case
from app.services.clocks import compute_case_clocks
from app.services.credit import open_credit_records
from app.services.errors import InvalidInput, NotFound, PermissionDenied
from app.services.materials import UploadLimits, materials_of, reuse_licence, store_upload
from app.services.runtime import local_day

KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
CREDIT_KINDS = {"false_commitment": "告知承诺不实", "missed_supplement": "容缺受理逾期未补正"}
TOLERANCE_RULE = (
    "容缺受理只适用于次要材料；主要材料缺失的，须按一次性告知补正后受理（《行政许可法》第三十二条）"
)


@dataclass(frozen=True)
class Upload:
    """One file posted for a material."""

    material_code: str
    filename: str
    stream: IO[bytes]


@dataclass
class ApplicationInput:
    """What the applicant posted: start fields, 容缺 requests, reused licences, files."""

    key: str
    fields: dict[str, Any]
    tolerated: list[str] = field(default_factory=list)
    licences: dict[str, int] = field(default_factory=dict)
    uploads: list[Upload] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    """The saved draft and, once submitted, its case."""

    draft: ApplicationDraft
    case: Case | None


def new_key() -> str:
    """A fresh idempotency key for an application form."""
    return secrets.token_urlsafe(24)


def applicable_item(item: ServiceItem) -> ServiceItem:
    """The item if applicants may apply online (active, online, an application mode)."""
    if not item.active or not item.online or item.mode not in MODES:
        raise NotFound("此事项不支持网上申请 (not available online)", {"code": item.code})
    return item


def require_applicant(actor: User) -> None:
    """Only applicants apply."""
    if "applicant" not in actor.role_codes():
        raise PermissionDenied("只有申请人账号可以提交申请 (applicants only)")


def _credit_text(records: Sequence[CreditRecord]) -> str:
    return "；".join(
        f"{CREDIT_KINDS.get(r.kind, r.kind)}（{local_day(r.created_at)}）：{r.reason}" for r in records
    )


def check_rules(session: Session, item: ServiceItem, applicant: User, tolerated: Sequence[str]) -> None:
    """容缺 only for secondary materials of a 容缺 item; 容缺 and 告知承诺 blocked by open credit records."""
    kinds = {m["code"]: m for m in item.materials}
    unknown = [code for code in tolerated if code not in kinds]
    if unknown:
        raise InvalidInput("申请容缺的材料不属于此事项", {"tolerated": unknown})
    if tolerated and item.mode != "tolerant":
        raise InvalidInput("此事项不适用容缺受理 (no 容缺 for this item)", {"tolerated": list(tolerated)})
    critical = [kinds[code]["name"] for code in tolerated if kinds[code].get("kind") == "required"]
    if critical:
        raise InvalidInput(
            f"“{'、'.join(critical)}”是主要材料，不能容缺：{TOLERANCE_RULE}",
            {"tolerated": critical, "rule": TOLERANCE_RULE},
        )
    if tolerated or item.mode == "commitment":
        records = open_credit_records(session, applicant)
        if records:
            what = "容缺受理" if tolerated else "告知承诺"
            raise InvalidInput(
                f"您有未修复的信用记录，不能适用{what}：{_credit_text(records)}。"
                "请先完成信用修复，或到窗口按一般程序申请。",
                {"credit_records": [r.id for r in records]},
            )


def _lock_draft(session: Session, key: str) -> ApplicationDraft | None:
    query = (
        select(ApplicationDraft)
        .where(ApplicationDraft.idempotency_key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalar(query)


def ensure_draft(
    session: Session, item: ServiceItem, actor: User, key: str, now: datetime
) -> ApplicationDraft:
    """The draft for this form key, created on first use and locked; someone else's key: NotFound."""
    if not KEY_RE.match(key or ""):
        raise InvalidInput("表单标识无效，请刷新页面 (bad idempotency key)", {"idempotency_key": "invalid"})
    draft = _lock_draft(session, key)
    if draft is None:
        draft = ApplicationDraft(
            applicant_id=actor.id,
            service_item_id=item.id,
            data={},
            idempotency_key=key,
            created_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(draft)
        except IntegrityError:  # the same form submitted twice at once: the other request won
            draft = _lock_draft(session, key)
    if draft is None or draft.applicant_id != actor.id or draft.service_item_id != item.id:
        raise NotFound("申请不存在 (no such application)")
    return draft


def _attach(session: Session, item: ServiceItem, actor: User, draft: ApplicationDraft,
            posted: ApplicationInput, limits: UploadLimits, now: datetime) -> None:  # fmt: skip
    for upload in posted.uploads:
        store_upload(
            session, actor, item, upload.material_code, upload.filename, upload.stream, limits, now,
            draft=draft,
        )  # fmt: skip
    for code, licence_id in posted.licences.items():
        reuse_licence(session, actor, item, code, licence_id, now, draft=draft)


def missing_materials(session: Session, item: ServiceItem, draft: ApplicationDraft,
                      tolerated: Sequence[str]) -> list[str]:  # fmt: skip
    """Names of the materials neither provided nor (secondary, 容缺 item) tolerated."""
    have = {m.material_code for m in materials_of(session, draft_id=draft.id)}
    return [
        m["name"]
        for m in item.materials
        if m["code"] not in have
        and m["code"] not in tolerated
        and (m.get("kind") == "required" or item.mode == "tolerant")
    ]


def apply(
    session: Session,
    item: ServiceItem,
    actor: User,
    posted: ApplicationInput,
    limits: UploadLimits,
    now: datetime,
    *,
    submit: bool,
) -> Outcome:
    """Save the application as a draft, and with `submit` open its case; a resubmitted key: the same case."""
    require_applicant(actor)
    applicable_item(item)
    draft = ensure_draft(session, item, actor, posted.key, now)
    if draft.submitted_case_id is not None:
        return Outcome(draft, session.get(Case, draft.submitted_case_id))
    check_rules(session, item, actor, posted.tolerated)
    known = start_form(item.mode).schema["properties"]
    posted.fields = {key: value for key, value in posted.fields.items() if key in known}
    draft.data = {"fields": posted.fields, "tolerated": list(posted.tolerated)}
    draft.updated_at = now
    _attach(session, item, actor, draft, posted, limits, now)
    if not submit:
        session.flush()
        return Outcome(draft, None)
    return Outcome(draft, _submit(session, item, actor, draft, posted, now))


def _submit(session: Session, item: ServiceItem, actor: User, draft: ApplicationDraft,
            posted: ApplicationInput, now: datetime) -> Case:  # fmt: skip
    errors = {e.path or "_form": e.message for e in start_form(item.mode).validate(posted.fields)}
    if errors:
        raise InvalidInput("申请信息填写有误，请修改后重新提交", errors)
    missing = missing_materials(session, item, draft, posted.tolerated)
    if missing:
        raise InvalidInput(f"请一并提交以下材料：{'、'.join(missing)}", {"materials": missing})
    names = {m["code"]: m["name"] for m in item.materials}
    data: dict[str, Any] = {**posted.fields}
    if item.mode == "parallel":
        data.update(lead_dept=item.lead_department, member_departments=list(item.member_departments))
    if posted.tolerated:
        data["requested_tolerance"] = [names[code] for code in posted.tolerated]
    meta = {
        "item_code": item.code,
        "applicant_name": posted.fields.get("applicant_name"),
        "contact_name": posted.fields.get("contact_name"),
        "phone": posted.fields.get("contact_phone"),
        "tolerated": list(posted.tolerated),
    }
    case = start_case(
        session, item.process_id, data, actor, now, kind="application", title=item.name, meta=meta
    )
    case.service_item_id = item.id
    for material in materials_of(session, draft_id=draft.id):
        material.case_id = case.id
    draft.submitted_case_id = case.id
    session.flush()
    compute_case_clocks(session, case, now)
    record_event(session, case, actor, "application.submitted", {"item": item.code}, now)
    session.flush()
    return case


def submitted_case(session: Session, key: str, actor: User) -> Case | None:
    """The case an application key already opened (for a double click that lost the race)."""
    draft = session.scalar(select(ApplicationDraft).where(ApplicationDraft.idempotency_key == key))
    if draft is None or draft.applicant_id != actor.id or draft.submitted_case_id is None:
        return None
    return session.get(Case, draft.submitted_case_id)


def open_draft(session: Session, key: str, actor: User) -> ApplicationDraft | None:
    """The actor's unsubmitted draft with this key (None for unknown or someone else's)."""
    draft = session.scalar(select(ApplicationDraft).where(ApplicationDraft.idempotency_key == key))
    if draft is None or draft.applicant_id != actor.id or draft.submitted_case_id is not None:
        return None
    return draft
