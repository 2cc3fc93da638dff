"""The service catalogue (事项): what applicants can apply for and how it is processed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.accounts import Department
from app.models.base import Base
from app.models.types import JSONType


class ServiceItem(Base):
    """A catalogue entry (办事指南): legal basis, materials, time limits, and the process that runs it."""

    __tablename__ = "service_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    item_type: Mapped[str] = mapped_column(String(40))  # 行政许可 / 公共服务 / 其他行政权力 / 公文 / 工单
    theme: Mapped[str | None] = mapped_column(String(80))
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    conditions: Mapped[str] = mapped_column(Text, default="")
    # [{"code", "name", "kind": "required"|"secondary", "licence_type": str|None, "note"}]
    materials: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    statutory_limit_days: Mapped[int]
    promised_limit_days: Mapped[int]
    # [{"name", "counts": bool, "max_days"}] — 听证/检验/检测/专家评审/公示: §45 steps outside the limit
    special_steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    fee: Mapped[str] = mapped_column(String(200), default="不收费")
    visits: Mapped[int] = mapped_column(default=0)
    process_id: Mapped[str] = mapped_column(String(120))
    mode: Mapped[str] = mapped_column(String(20))  # parallel / tolerant / commitment / document / work_order
    lead_department: Mapped[str | None] = mapped_column(String(40))
    member_departments: Mapped[list[str]] = mapped_column(JSONType)
    # per-step and alert settings, e.g. {"warning_ratio": 0.8, "licence_type": "营业执照"}
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType)
    faq: Mapped[list[dict[str, str]]] = mapped_column(JSONType)
    online: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)

    department: Mapped[Department] = relationship(lazy="joined")
