"""Electronic supervision (电子监察): calendar overrides, clocks, alerts, anomalies, 督办, notifications."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.accounts import Department, User
from app.models.base import Base
from app.models.types import JSONType


class CalendarOverride(Base):
    """A local working-day decision by the administrator (local holiday, emergency working day)."""

    __tablename__ = "calendar_override"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    is_working: Mapped[bool]
    name: Mapped[str] = mapped_column(String(120))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]


class ClockPause(Base):
    """A stopped clock (§45 special step or waiting for 补正) with its reason."""

    __tablename__ = "clock_pause"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"), index=True)
    human_task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(40))  # 补正 / 听证 / 检验 / 检测 / 专家评审 / 公示 / 现场核查
    note: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class CaseExtension(Base):
    """延期: extra working days approved by someone, with the reason told to the applicant."""

    __tablename__ = "case_extension"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"), index=True)
    working_days: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    requested_at: Mapped[datetime]
    approved_at: Mapped[datetime | None]


class Alert(Base):
    """预警 / 黄牌 / 红牌: one per (case, task, level); resolves itself when the step is done."""

    __tablename__ = "alert"
    __table_args__ = (Index("ix_alert_open_level", "resolved_at", "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(80), unique=True)  # f"{case}:{task or '-'}:{level}"
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"), index=True)
    human_task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id", ondelete="SET NULL"))
    department_code: Mapped[str | None] = mapped_column(String(40), index=True)
    level: Mapped[str] = mapped_column(String(10))  # warning / yellow / red
    rule: Mapped[str] = mapped_column(String(40))
    explanation: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]


class Anomaly(Base):
    """异常办件: a rule that fired on a case, with the facts that made it fire."""

    __tablename__ = "anomaly"
    __table_args__ = (UniqueConstraint("case_id", "rule_code", name="uq_anomaly_case_rule"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"), index=True)
    rule_code: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10), default="normal")  # normal / serious
    explanation: Mapped[str] = mapped_column(Text)
    facts: Mapped[dict[str, Any]] = mapped_column(JSONType)
    detected_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class SupervisionOrder(Base):
    """督办: an order to a department with a deadline; replied, closed or escalated blue → orange → red."""

    __tablename__ = "supervision_order"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_record.id", ondelete="SET NULL"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    instruction: Mapped[str] = mapped_column(Text)
    deadline: Mapped[datetime]
    level: Mapped[str] = mapped_column(String(10), default="blue")  # blue / orange / red
    status: Mapped[str] = mapped_column(String(12), default="open")  # open / replied / closed
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    issued_at: Mapped[datetime]
    reply: Mapped[str | None] = mapped_column(Text)
    replied_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    replied_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    department: Mapped[Department] = relationship()


class Notification(Base):
    """The in-app inbox: one row per recipient."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_record.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
