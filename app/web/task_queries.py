"""Choices for the to-do list's filter bar (the lists themselves come from services.task_lists)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import HumanTask, ProcessVersion


def filter_options(session: Session) -> tuple[list[tuple[str, str]], list[str]]:
    """Deployed processes (id, name) and the departments tasks are offered to, for the filter bar."""
    processes = session.execute(
        select(ProcessVersion.process_id, func.max(ProcessVersion.name))
        .group_by(ProcessVersion.process_id)
        .order_by(ProcessVersion.process_id)
    ).tuples()
    departments = session.scalars(
        select(HumanTask.candidate_department)
        .where(HumanTask.candidate_department.is_not(None))
        .distinct()
        .order_by(HumanTask.candidate_department)
    )
    return [(pid, name) for pid, name in processes], [d for d in departments if d]
