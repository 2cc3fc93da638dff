"""批量审批: complete several tasks with the same data; each in its own savepoint."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import HumanTask, User
from app.services.cases import complete_task
from app.services.errors import Conflict, DomainError, InvalidInput

MAX_BULK = 100


@dataclass(frozen=True)
class BulkResult:
    """The outcome for one task: ok, or the error code, message and details."""

    task_id: int
    ok: bool
    error: str | None = None
    message: str | None = None
    details: Any = None


def bulk_complete(
    session: Session, task_ids: Sequence[int], data: Mapping[str, Any], actor: User, now: datetime
) -> list[BulkResult]:
    """Complete each task whose `bulkApprove` property is "true"; one failure does not undo the others."""
    ids = list(dict.fromkeys(task_ids))
    if not ids or len(ids) > MAX_BULK:
        raise InvalidInput(f"请选择 1–{MAX_BULK} 个任务", {"task_ids": "数量无效"})
    allowed = dict(
        session.execute(select(HumanTask.id, HumanTask.properties).where(HumanTask.id.in_(ids)))
        .tuples()
        .all()
    )
    results = []
    for task_id in ids:
        savepoint = session.begin_nested()
        try:
            properties = allowed.get(task_id)
            if properties is not None and properties.get("bulkApprove") != "true":
                raise Conflict("此步骤不允许批量审批 (bulk approval is not enabled for this step)")
            complete_task(session, task_id, data, actor, now)
        except DomainError as error:
            savepoint.rollback()
            results.append(BulkResult(task_id, False, error.code, error.message, error.details))
        else:
            savepoint.commit()
            results.append(BulkResult(task_id, True))
    return results
