"""Official documents (公文): 发文字号 `机关代字〔年份〕序号`, gap-free and unique per issuer and year."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.models import HumanTask
from app.services.errors import InvalidInput
from app.services.numbers import next_in_sequence
from app.services.runtime import working_calendar

DEFAULT_ISSUER = "office"
DEFAULT_PREFIX = "高新管发"
MAX_ISSUER_LENGTH = 60
MAX_PREFIX_LENGTH = 20


def allocate_document_number(session: Session, issuer_code: str, year: int, prefix: str) -> str:
    """Allocate an issuer's next 发文字号 for a year, e.g. `高新管发〔2026〕7号` (under a row lock)."""
    issuer, prefix = issuer_code.strip(), prefix.strip()
    if not issuer or len(issuer) > MAX_ISSUER_LENGTH:
        raise InvalidInput("发文机关代码无效 (invalid issuer code)", {"issuer": issuer_code})
    if not prefix or len(prefix) > MAX_PREFIX_LENGTH:
        raise InvalidInput("机关代字无效 (invalid issuer prefix)", {"issuer_prefix": prefix})
    serial = next_in_sequence(session, f"document:{issuer}", year)
    return f"{prefix}〔{year}〕{serial}号"


def with_document_number(
    session: Session, task: HumanTask, data: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """The data to hand to the engine: for an `allocatesDocumentNumber` step, with the case's 发文字号.

    A case is numbered once: completing the numbering step again (after a 退回) reuses its number, so
    returns never leave a gap. The number is also stored in `case.data['document_number']`.
    """
    payload = dict(data)
    if task.properties.get("allocatesDocumentNumber") != "true":
        return payload
    case = task.case
    meta = dict(case.data or {})
    number = meta.get("document_number")
    if not number:
        year = working_calendar().local_date(now).year
        issuer = str(meta.get("issuer") or DEFAULT_ISSUER)
        prefix = str(meta.get("issuer_prefix") or DEFAULT_PREFIX)
        number = allocate_document_number(session, issuer, year, prefix)
        case.data = {**meta, "document_number": number}  # a new dict, so the JSON column is marked changed
    payload["document_number"] = number
    return payload
