"""Process definitions: deployment of versions, listing."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import ProcessVersion


def count_deployed_processes(session: Session) -> int:
    """Number of distinct process ids with at least one deployed version."""
    return int(session.scalar(select(func.count(func.distinct(ProcessVersion.process_id)))) or 0)
