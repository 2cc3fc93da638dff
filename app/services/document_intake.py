"""公文 start here: the office registers a 来文 (收文) with its scan; staff draft outgoing documents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.models import Case, User
from app.services.cases import complete_task, open_tasks, start_case
from app.services.errors import InvalidInput, PermissionDenied
from app.services.permissions import may_act
from app.services.runtime import working_calendar
from app.services.secrecy import SECRECY_LEVELS
from app.services.uploads import Upload, UploadPolicy, check_upload, store_upload

URGENCIES = ("特急", "加急", "平件")
DOC_TYPES = ("notice", "request", "report", "reply", "letter", "opinion", "minutes")
DRAFTER_ROLES = frozenset({"approver", "dept_head", "office", "leader"})
INCOMING, OUTGOING = "document_incoming", "document_outgoing"
MAX_ATTACHMENTS = 10


@dataclass(frozen=True)
class Classification:
    """紧急程度 and 密级 with its 保密期限 (required unless 非密)."""

    urgency: str
    secrecy_level: str
    secrecy_period: date | None


@dataclass(frozen=True)
class IncomingDocument:
    """What the office types in when registering a 来文."""

    title: str
    sender: str
    source_doc_number: str
    classification: Classification
    scan: Upload


@dataclass(frozen=True)
class OutgoingDocument:
    """A draft 发文: text, recipients, co-signing departments and attachments."""

    title: str
    doc_type: str
    main_recipients: str
    cc_recipients: str
    body_text: str
    classification: Classification
    cosign_departments: Sequence[str] = ()
    attachments: Sequence[Upload] = field(default_factory=tuple)


def check_classification(value: Classification) -> dict[str, str]:
    """Field errors of an urgency / 密级 / 保密期限 combination (empty when valid)."""
    errors: dict[str, str] = {}
    if value.urgency not in URGENCIES:
        errors["urgency"] = "请选择紧急程度"
    if value.secrecy_level not in SECRECY_LEVELS:
        errors["secrecy_level"] = "请选择密级"
    elif value.secrecy_level != "none" and value.secrecy_period is None:
        errors["secrecy_period"] = "涉密公文必须填写保密期限"
    return errors


def _meta(value: Classification) -> dict[str, Any]:
    period = value.secrecy_period.isoformat() if value.secrecy_period else ""
    return {"urgency": value.urgency, "secrecy_level": value.secrecy_level, "secrecy_period": period}


def register_incoming(
    session: Session, document: IncomingDocument, policy: UploadPolicy, actor: User, now: datetime
) -> Case:
    """收文登记: check everything, start document_incoming (data pre-filling 签收/登记), store the scan.

    特急: the first step's handlers get an SMS from the projection (step_events._notify_urgent calls
    delivery.route_urgent_document for every new task whose data carries urgency 特急), and so does
    every later step, because the urgency stays in the workflow data.
    """
    if not actor.has_role("office"):
        raise PermissionDenied("只有办公室可以登记收文 (office only)")
    errors = check_classification(document.classification)
    for key, text in (("title", document.title), ("sender", document.sender)):
        if not text.strip():
            errors[key] = "必填"
    if errors:
        raise InvalidInput("表单填写有误，请修改后重新提交", errors)
    check_upload(document.scan, policy, "scan")
    meta = {
        "title": document.title.strip(),
        "sender": document.sender.strip(),
        "source_doc_number": document.source_doc_number.strip(),
        **_meta(document.classification),
    }
    data = {
        **{k: v for k, v in meta.items() if k != "sender"},
        "source_org": meta["sender"],
        "sender_org": meta["sender"],
        "received_on": working_calendar().local_date(now).isoformat(),
        "document_files": [document.scan.filename or "scan"],
    }
    case = start_case(session, INCOMING, data, actor, now, kind="document", title=meta["title"], meta=meta)
    store_upload(session, document.scan, policy, "scan", case.id, actor, now)
    return case


def drafting_department(actor: User) -> str:
    """The drafter's department: of their first drafting role (PermissionDenied without one)."""
    codes = sorted(
        m.department_code for m in actor.memberships if m.role.code in DRAFTER_ROLES and m.department_code
    )
    if not codes:
        raise PermissionDenied("只有部门工作人员可以拟稿 (staff of a department only)")
    return codes[0]


def _check_outgoing(document: OutgoingDocument, policy: UploadPolicy) -> None:
    errors = check_classification(document.classification)
    required = {"title": document.title, "main_recipients": document.main_recipients}
    errors.update({key: "必填" for key, text in required.items() if not text.strip()})
    if not document.body_text.strip():
        errors["body_text"] = "必填"
    if document.doc_type not in DOC_TYPES:
        errors["doc_type"] = "请选择文种"
    if len(document.attachments) > MAX_ATTACHMENTS:
        errors["attachments"] = f"附件不能超过 {MAX_ATTACHMENTS} 个"
    if errors:
        raise InvalidInput("表单填写有误，请修改后重新提交", errors)
    for upload in document.attachments:
        check_upload(upload, policy, "attachments")


def draft_outgoing(
    session: Session, document: OutgoingDocument, policy: UploadPolicy, actor: User, now: datetime
) -> Case:
    """拟稿: start document_outgoing for the drafter's department; submit the draft if the drafter may."""
    department = drafting_department(actor)
    _check_outgoing(document, policy)
    draft = {
        "title": document.title.strip(),
        "doc_type": document.doc_type,
        "main_recipients": document.main_recipients.strip(),
        "cc_recipients": document.cc_recipients.strip(),
        **_meta(document.classification),
        "cosign_departments": list(dict.fromkeys(document.cosign_departments)),
        "body": ["正文"],
        "body_text": document.body_text.strip(),
        "attachments": [upload.filename for upload in document.attachments],
    }
    meta = {"title": draft["title"], "drafting_dept": department, **_meta(document.classification)}
    data = {"drafting_dept": department, **draft}
    case = start_case(session, OUTGOING, data, actor, now, kind="document", title=draft["title"], meta=meta)
    first = next((t for t in open_tasks(session, case) if t.bpmn_id == "draft_document"), None)
    if first is not None and may_act(actor, first):
        complete_task(session, first.id, draft, actor, now)
    for upload in document.attachments:
        store_upload(session, upload, policy, "attachment", case.id, actor, now)
    return case
