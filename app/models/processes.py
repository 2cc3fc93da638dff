"""Deployed process versions: one row per content hash of a diagram and its forms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.accounts import User
from app.models.base import Base
from app.models.types import JSONType


class ProcessVersion(Base):
    """An immutable compiled process: the serialized spec is stored once here, never per case."""

    __tablename__ = "process_version"
    __table_args__ = (UniqueConstraint("process_id", "version", name="uq_process_version_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(120), index=True)
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    spec_json: Mapped[str] = mapped_column(Text, deferred=True)
    source_files: Mapped[dict[str, str]] = mapped_column(JSONType, deferred=True)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, deferred=True)
    notes: Mapped[list[str]] = mapped_column(JSONType)
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    deployed_at: Mapped[datetime]

    deployed_by: Mapped[User | None] = relationship()

    def step(self, bpmn_id: str) -> dict[str, Any] | None:
        """The static definition of a user task in this version."""
        return next((s for s in self.steps if s.get("bpmn_id") == bpmn_id), None)
