"""Cases (办件) and their query tables: human tasks, opinions, audit trail, outbox, counters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.accounts import User
from app.models.base import Base
from app.models.catalogue import ServiceItem
from app.models.processes import ProcessVersion
from app.models.types import JSONType


class Case(Base):
    """One run of a process. `state` is the serialized workflow without its spec."""

    __tablename__ = "case_record"
    __table_args__ = (
        Index(
            "ix_case_record_pending_events",
            "id",
            postgresql_where=text("pending_events IS NOT NULL"),
            sqlite_where=text("pending_events IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # application / document / work_order
    title: Mapped[str] = mapped_column(String(300))
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)  # open / completed / terminated / error
    state: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)  # case metadata shown in lists (not flow state)
    open_task_uuids: Mapped[list[str]] = mapped_column(JSONType)  # READY human tasks projected in human_task
    originator_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    service_item_id: Mapped[int | None] = mapped_column(ForeignKey("service_item.id"), index=True)
    next_timer_at: Mapped[datetime | None] = mapped_column(index=True)
    version: Mapped[int] = mapped_column(default=1)
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    # clocks (working days, computed from the item's limits; paused and extended by services)
    statutory_due_at: Mapped[datetime | None] = mapped_column(index=True)
    promised_due_at: Mapped[datetime | None] = mapped_column(index=True)
    # supervision events not yet in the outbox: JSON lines appended by the change that caused them, moved
    # to outbox_event by `publish_case_events` (docs/events.md, "Written with the change, published after")
    pending_events: Mapped[str | None] = mapped_column(Text)

    process_version: Mapped[ProcessVersion] = relationship()
    originator: Mapped[User | None] = relationship()
    service_item: Mapped[ServiceItem | None] = relationship()

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  (SQLAlchemy declarative hook)


class HumanTask(Base):
    """Projection of a user task for lists and permission checks; written with the state, same transaction."""

    __tablename__ = "human_task"
    __table_args__ = (
        # id and assignee_id: claimable counts and pages from the index alone (migration 0006)
        Index(
            "ix_human_task_claimable",
            "state",
            "candidate_role",
            "candidate_department",
            "due_at",
            "id",
            "assignee_id",
        ),
        Index("ix_human_task_assignee", "assignee_id", "state", "due_at"),
        Index("ix_human_task_case_state", "case_id", "state"),
        Index("ix_human_task_completed_by", "completed_by_id", "completed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"))
    task_uuid: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str | None] = mapped_column(String(120))
    candidate_role: Mapped[str | None] = mapped_column(String(40))
    candidate_department: Mapped[str | None] = mapped_column(String(40))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id")
    )  # 委派: the task returns to them
    form: Mapped[str | None] = mapped_column(String(200))
    properties: Mapped[dict[str, str]] = mapped_column(JSONType)
    state: Mapped[str] = mapped_column(String(20))  # open / completed / cancelled
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    completed_at: Mapped[datetime | None]
    decision: Mapped[str | None] = mapped_column(String(40))

    case: Mapped[Case] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])


class Opinion(Base):
    """审批意见 — append-only: never updated or deleted."""

    __tablename__ = "opinion"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"), index=True)
    human_task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id"))
    step_name: Mapped[str] = mapped_column(String(200))
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    role: Mapped[str | None] = mapped_column(String(40))
    department: Mapped[str | None] = mapped_column(String(40))
    decision: Mapped[str | None] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    on_behalf_of: Mapped[User | None] = relationship(foreign_keys=[on_behalf_of_id])


class AuditEvent(Base):
    """Append-only audit trail of every action on a case or a definition."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(60))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(index=True)

    actor: Mapped[User | None] = relationship()
    case: Mapped[Case | None] = relationship()


class OutboxEvent(Base):
    """Transactional outbox: written with the change, delivered after commit, retried, never twice."""

    __tablename__ = "outbox_event"
    __table_args__ = (Index("ix_outbox_pending", "delivered_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_record.id", ondelete="SET NULL"), index=True)
    channel: Mapped[str] = mapped_column(String(20))  # webhook / email / sms / bpmn
    kind: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    case: Mapped[Case | None] = relationship()


class NumberSequence(Base):
    """Gap-free counters (case numbers per year, 发文字号 per issuer and year), locked on use."""

    __tablename__ = "number_sequence"
    __table_args__ = (UniqueConstraint("name", "year", name="uq_number_sequence_name_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    year: Mapped[int]
    value: Mapped[int] = mapped_column(default=0)
