"""Applicant side: drafts, uploaded materials, licences, credit records, evaluations, complaints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.accounts import User
from app.models.base import Base
from app.models.types import JSONType


class ApplicationDraft(Base):
    """An application being filled in; submitting it (once: idempotency key) opens a case."""

    __tablename__ = "application_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    service_item_id: Mapped[int] = mapped_column(ForeignKey("service_item.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    submitted_case_id: Mapped[int | None] = mapped_column(ForeignKey("case_record.id", ondelete="SET NULL"))


class Material(Base):
    """An uploaded file (stored outside the web root under a random name) or a reused e-licence."""

    __tablename__ = "material"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"), index=True)
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("application_draft.id", ondelete="SET NULL"))
    material_code: Mapped[str] = mapped_column(String(60))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_name: Mapped[str | None] = mapped_column(String(80))  # None when source == licence
    source: Mapped[str] = mapped_column(String(10), default="upload")  # upload / licence
    licence_id: Mapped[int | None] = mapped_column(ForeignKey("licence.id"))
    trust_level: Mapped[str] = mapped_column(String(2), default="C")  # A for e-licences issued by govflow
    uploaded_at: Mapped[datetime]


class Licence(Base):
    """电子证照 issued by a case; verifiable publicly by its code; reusable as material."""

    __tablename__ = "licence"

    id: Mapped[int] = mapped_column(primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    holder_name: Mapped[str] = mapped_column(String(200))
    licence_type: Mapped[str] = mapped_column(String(80))
    number: Mapped[str] = mapped_column(String(80), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_record.id", ondelete="SET NULL"))
    issued_at: Mapped[datetime]
    valid_until: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(12), default="valid")  # valid / revoked / expired
    verification_code: Mapped[str] = mapped_column(String(40), unique=True)
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(Text)

    holder: Mapped[User] = relationship()


class CreditRecord(Base):
    """信用记录: a false commitment or a missed supplement; blocks 容缺 and 告知承诺 until repaired."""

    __tablename__ = "credit_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # false_commitment / missed_supplement
    reason: Mapped[str] = mapped_column(Text)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_record.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    repaired_at: Mapped[datetime | None]


class Evaluation(Base):
    """好差评: one rating per case on the national indicators; 差评 starts rectification."""

    __tablename__ = "evaluation"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    overall: Mapped[int]
    scores: Mapped[dict[str, int]] = mapped_column(
        JSONType
    )  # 办事效率, 办事指南精确度, 办事便捷度, 平台操作性
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    rectification_case_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_record.id", ondelete="SET NULL")
    )
    appeal_status: Mapped[str | None] = mapped_column(String(12))  # pending / upheld / rejected


class Complaint(Base):
    """A complaint about a case or a department, routed to the supervision office."""

    __tablename__ = "complaint"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_record.id", ondelete="SET NULL"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    content: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[datetime]
    handled_at: Mapped[datetime | None]
