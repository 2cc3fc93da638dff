"""Decision notices (文书): 受理通知书, 不予受理通知书, 补正材料通知书 (一次性告知), 容缺受理承诺书,
告知承诺书 — built from the case, its completed steps and workflow data; `app.services.pdf` renders them.

Which notices a case has depends on the forms its completed steps used, so every diagram that uses the
window forms (window_accept, prereview, tolerance_promise, commitment_sign) gets them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Case, HumanTask, User
from app.services.case_views import case_data, may_view
from app.services.cases import get_case
from app.services.errors import NotFound
from app.services.licences import DEFAULT_ISSUER
from app.services.runtime import working_calendar

WINDOW_FORMS = ("window_accept.schema.json", "prereview.schema.json")
TOLERANCE_FORM = "tolerance_promise.schema.json"
COMMITMENT_FORM = "commitment_sign.schema.json"
# kind -> (title, the window decisions that produce it)
KINDS: dict[str, tuple[str, frozenset[str]]] = {
    "acceptance": ("受理通知书", frozenset({"accept", "complete", "tolerated"})),
    "refusal": ("不予受理通知书", frozenset({"refuse"})),
    "supplement": ("补正材料通知书", frozenset({"supplement", "critical_missing"})),
    "tolerance": ("容缺受理承诺书", frozenset()),
    "commitment": ("告知承诺书", frozenset()),
}
REMEDIES = (
    "申请人如对本决定不服，可以自收到本通知书之日起六十日内依法申请行政复议，"
    "或者自收到本通知书之日起六个月内依法向人民法院提起行政诉讼。"
)


@dataclass(frozen=True)
class Notice:
    """One notice, ready to render as a page or a PDF."""

    kind: str
    title: str
    number: str
    case_number: str
    addressee: str
    item: str
    issued_on: date
    paragraphs: tuple[str, ...]
    items_heading: str
    items: tuple[str, ...]
    issuer: str
    contact: str


def _decision_tasks(session: Session, case: Case) -> list[HumanTask]:
    forms = (*WINDOW_FORMS, TOLERANCE_FORM, COMMITMENT_FORM)
    query = select(HumanTask).where(
        HumanTask.case_id == case.id, HumanTask.state == "completed", HumanTask.form.in_(forms)
    )
    return list(session.scalars(query.order_by(HumanTask.completed_at, HumanTask.id)))


def _kind_of(task: HumanTask) -> str | None:
    if task.form == TOLERANCE_FORM:
        return "tolerance"
    if task.form == COMMITMENT_FORM:
        return "commitment" if task.decision == "commit" else None
    return next((k for k, (_, decisions) in KINDS.items() if task.decision in decisions), None)


def available_notices(session: Session, case: Case) -> dict[str, HumanTask]:
    """kind -> the (latest) step that produced it."""
    found: dict[str, HumanTask] = {}
    for task in _decision_tasks(session, case):
        kind = _kind_of(task)
        if kind is not None:
            found[kind] = task
    return found


def notice_case(session: Session, number: str, actor: User) -> Case:
    """The case if the actor is its applicant or may view it; NotFound otherwise."""
    case = get_case(session, number)
    if case.originator_id != actor.id and not may_view(session, actor, case):
        raise NotFound("办件不存在 (no such case)")
    return case


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(v) for v in value if str(v).strip())
    return (str(value),) if value not in (None, "") else ()


def _time_limit(case: Case) -> str:
    item = case.service_item
    if item is None:
        return "法定期限"
    if item.promised_limit_days == 0:
        return "即办"
    return f"{item.promised_limit_days} 个工作日（法定时限 {item.statutory_limit_days} 个工作日）"


def _body(kind: str, case: Case, data: Mapping[str, Any]) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    item = case.service_item.name if case.service_item else case.title
    text: tuple[str, ...]
    if kind == "acceptance":
        text = (
            f"你（单位）提出的“{item}”申请，材料齐全、符合法定形式，本机关决定予以受理。",
            f"办理时限：自受理之日起 {_time_limit(case)}。"
            "依法需要听证、检验、检测、专家评审的，所需时间不计入时限。",
        )
        return text, "已收取的申请材料", _strings(data.get("received_materials"))
    if kind == "refusal":
        reasons = str(data.get("refuse_reasons") or "申请事项不属于本机关职权范围或不符合受理条件")
        basis = str(data.get("legal_basis") or "《中华人民共和国行政许可法》第三十二条")
        text = (
            f"你（单位）提出的“{item}”申请，经审查，决定不予受理。",
            f"理由：{reasons}",
            f"依据：{basis}",
            REMEDIES,
        )
        return text, "", ()
    if kind == "supplement":
        text = (
            f"你（单位）提出的“{item}”申请，材料不齐全或者不符合法定形式。现一次性告知需要补正的全部内容如下，"
            "请补正后重新提交。补正期间不计入办理时限；逾期未补正的，视为放弃申请。",
        )
        items = _strings(data.get("supplement_items")) or _strings(data.get("tolerated_items"))
        return text, "需补正的材料和内容", items
    if kind == "tolerance":
        deadline = str(data.get("supplement_deadline") or "约定期限")
        text = (
            f"本人（单位）申请“{item}”，对下列次要材料申请容缺受理，承诺于 {deadline} 前补齐。",
            "逾期未补正的，同意终止办理，并记入信用记录。",
            f"承诺人：{data.get('signatory') or '—'}",
        )
        return text, "容缺材料", _strings(data.get("promised_items")) or _strings(data.get("tolerated_items"))
    text = (
        f"本机关已告知“{item}”的许可条件、需要提交的材料和不实承诺的法律后果。",
        str(data.get("commitment_text") or "申请人承诺符合许可条件，所提交材料真实有效。"),
        "承诺不实的，本机关将依法撤销许可，并记入信用记录。",
        f"承诺人：{data.get('signatory') or '—'}　签署日期：{data.get('signed_on') or '—'}",
    )
    return text, "", ()


def build_notice(session: Session, case: Case, kind: str) -> Notice:
    """The notice of `kind` for the case, or NotFound if the case never produced one."""
    task = available_notices(session, case).get(kind)
    if task is None or task.completed_at is None:
        raise NotFound("此办件没有该文书 (no such notice for this case)")
    paragraphs, heading, items = _body(kind, case, case_data(case))
    item = case.service_item
    issuer = item.department.name if item is not None else DEFAULT_ISSUER
    contact = str((item.settings.get("contact") if item else None) or "政务服务中心综合窗口 12345")
    return Notice(
        kind=kind,
        title=KINDS[kind][0],
        number=f"{case.number}-{list(KINDS).index(kind) + 1:02d}",
        case_number=case.number,
        addressee=case.originator.display_name if case.originator else "申请人",
        item=item.name if item is not None else case.title,
        issued_on=working_calendar().local_date(task.completed_at),
        paragraphs=paragraphs,
        items_heading=heading,
        items=items,
        issuer=issuer,
        contact=contact,
    )
