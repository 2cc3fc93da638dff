"""Approver workspace records: copies (抄送) and vacation proxies (代理)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.accounts import User
from app.models.base import Base


class TaskCopy(Base):
    """抄送: a case copied to a user for information, with read tracking."""

    __tablename__ = "task_copy"
    __table_args__ = (Index("ix_task_copy_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"), index=True)
    human_task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id", ondelete="SET NULL"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    from_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    from_user: Mapped[User] = relationship(foreign_keys=[from_user_id])


class ProxyRule(Base):
    """代理 (vacation proxy): while it lasts, the principal's tasks go to the substitute.

    `applied_at`: when the principal's open tasks were moved (at creation if active then, else by the
    `proxy_rules` job once `starts_at` passed). `reverted_at`: when the tasks were given back (the job after
    `ends_at`, or `cancel_proxy`); a rule with `reverted_at` set is finished.
    """

    __tablename__ = "proxy_rule"
    __table_args__ = (
        Index("ix_proxy_rule_principal_period", "principal_id", "starts_at", "ends_at"),
        # the job's scan: only rules not finished yet (migration 0007)
        Index(
            "ix_proxy_rule_pending",
            "starts_at",
            postgresql_where=text("reverted_at IS NULL"),
            sqlite_where=text("reverted_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    substitute_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    process_id: Mapped[str | None] = mapped_column(String(120))  # None: every process
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    applied_at: Mapped[datetime | None]
    reverted_at: Mapped[datetime | None]

    principal: Mapped[User] = relationship(foreign_keys=[principal_id])
    substitute: Mapped[User] = relationship(foreign_keys=[substitute_id])
