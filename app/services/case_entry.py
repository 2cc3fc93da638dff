"""Which processes the generic start (`POST /api/v1/cases`) may open.

A process with its own intake is started only there, because that intake carries the checks the process
relies on: a catalogue item's process through its application (materials, e-licences, 容缺 and credit
rules), 公文 through 收文登记 / 拟稿, 12345 work orders through the operator's 受理, and 差评整改 only by a
rating. Any other deployed process (a designer's own diagram) may be started generically.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import ServiceItem
from app.services.document_intake import INCOMING, OUTGOING
from app.services.errors import Conflict
from app.services.evaluations import RECTIFICATION_PROCESS
from app.services.work_orders import PROCESS_ID as WORK_ORDER_PROCESS

OWN_INTAKE = {
    INCOMING: "收文登记 (/documents/incoming/new)",
    OUTGOING: "拟稿发文 (/documents/outgoing/new)",
    WORK_ORDER_PROCESS: "12345 工单受理 (/work-orders/new)",
    RECTIFICATION_PROCESS: "差评后自动发起 (started by a rating)",
}


def check_generic_start(session: Session, process_id: str) -> None:
    """Conflict naming the right entry when `process_id` has an intake of its own."""
    entry = OWN_INTAKE.get(process_id)
    if entry is None:
        code = session.scalar(select(ServiceItem.code).where(ServiceItem.process_id == process_id).limit(1))
        if code is not None:
            entry = f"办事指南申请 (POST /api/v1/items/{code}/applications)"
    if entry is not None:
        raise Conflict(f"该流程须从专门入口发起：{entry}", {"process_id": process_id, "entry": entry})
